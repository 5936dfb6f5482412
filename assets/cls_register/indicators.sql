-- Objective 3: signed, in-force local health contracts with a digital-health axis / signed, in-force
-- contracts, for each month's register, by département and EPCI. A contract counts once in every
-- territory it covers: the communes it lists (else every commune of its EPCI), their EPCI and
-- département, and its EPCI when given. Where no contract is in force, the rate is undefined (note).
WITH covered AS (
    SELECT c.period, c.identifiant, m.epci_siren, m.departement
    FROM staging.cls_register AS c JOIN ref.commune AS m ON list_contains(c.communes, m.code_insee)
    UNION
    SELECT c.period, c.identifiant, m.epci_siren, m.departement
    FROM staging.cls_register AS c JOIN ref.commune AS m ON m.epci_siren = c.epci
    WHERE len(c.communes) = 0
),
territory AS (
    SELECT period, identifiant, 'departement' AS territory_level, departement AS territory_code FROM covered
    UNION
    SELECT period, identifiant, 'epci', epci_siren FROM covered WHERE epci_siren IS NOT NULL
    UNION
    SELECT period, identifiant, 'epci', epci FROM staging.cls_register WHERE epci IS NOT NULL
),
counted AS (
    SELECT t.territory_level, t.territory_code, t.period,
           count_if(c.en_vigueur AND c.axe_numerique) AS numerator,
           count_if(c.en_vigueur) AS denominator,
           list_sort(list_distinct(list(c.upload_sha256))) AS upload_sha256
    FROM territory AS t JOIN staging.cls_register AS c USING (period, identifiant)
    GROUP BY ALL
)
SELECT
    'cls_with_digital_health_rate' AS indicator_id, territory_level, territory_code, period,
    NULL::VARCHAR AS segment,
    numerator::BIGINT AS numerator,
    denominator::BIGINT AS denominator,
    CASE WHEN denominator > 0 THEN numerator / denominator END AS value,
    'taux' AS unit,
    CASE WHEN denominator = 0 THEN 'Aucun contrat local de santé signé en vigueur sur ce territoire à cette date : taux non défini.' END AS note,
    upload_sha256
FROM counted
