-- Quality check offre_a_jour: the specialties published come from the latest state deposited. A later
-- workbook without an offer sheet leaves the count of an earlier state: the two dates are named.
WITH structure_state AS (
    SELECT max(period) AS period FROM staging.telehealth_structure
),
offer_state AS (
    SELECT max(period) AS period FROM staging.telehealth_offer
)
SELECT
    'offre_a_jour' AS check_name,
    s.period IS NULL OR coalesce(o.period >= s.period, false) AS passed,
    'avertissement' AS severity,
    CASE
        WHEN s.period IS NULL THEN 'Aucun état du déploiement chargé.'
        WHEN o.period IS NULL THEN
            'Aucun fichier chargé ne porte de feuille « Offre » : le nombre de spécialités disponibles en '
            || 'téléexpertise n''est pas publié. → Ajoutez la feuille « Offre » au prochain dépôt.'
        WHEN o.period >= s.period THEN
            'Le nombre de spécialités publié est celui du dernier état déposé (' || strftime(o.period, '%d/%m/%Y') || ').'
        ELSE
            'Le nombre de spécialités publié date du ' || strftime(o.period, '%d/%m/%Y')
            || ', le dernier état déposé du ' || strftime(s.period, '%d/%m/%Y')
            || ' n''a pas de feuille « Offre ». → Ajoutez la feuille « Offre » au prochain dépôt.'
    END AS message,
    NULL::VARCHAR AS upload_sha256
FROM structure_state AS s, offer_state AS o
