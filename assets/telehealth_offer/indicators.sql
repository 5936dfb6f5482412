-- Objective 6 (telehealth) indicators. Structures: the latest state of the deployment (the accepted
-- file with the latest state date; same date: the one loaded last), by département and by EPCI (the
-- structure's commune). Specialties: the latest state that has an offer sheet, for the territory of the
-- warehouse. Acts: per month, for each structure and month the latest state that gives them.
WITH latest AS (
    SELECT upload_sha256, period
    FROM staging.telehealth_structure
    GROUP BY upload_sha256, period
    ORDER BY period DESC, max(load_order) DESC
    LIMIT 1
),
structure AS (
    SELECT s.*, c.epci_siren
    FROM staging.telehealth_structure AS s
    JOIN latest USING (upload_sha256, period)
    LEFT JOIN ref.commune AS c ON c.code_insee = s.code_commune
),
structure_by_territory AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, * FROM structure
    UNION ALL
    SELECT 'epci', epci_siren, * FROM structure WHERE epci_siren IS NOT NULL
),
structure_by_segment AS (
    SELECT NULL AS segment, * FROM structure_by_territory
    UNION ALL
    SELECT 'phase_' || phase, * FROM structure_by_territory
    UNION ALL
    SELECT 'type_' || type_structure, * FROM structure_by_territory
    UNION ALL
    SELECT 'role_' || role, * FROM structure_by_territory
    UNION ALL
    SELECT 'statut_' || statut, * FROM structure_by_territory
),
structures AS (
    SELECT 'telemedicine_structures' AS indicator_id, territory_level, territory_code, period, segment,
           count(*) AS numerator, NULL::BIGINT AS denominator, 'nombre' AS unit, [upload_sha256] AS upload_sha256
    FROM structure_by_segment
    GROUP BY ALL
),
requesting AS (
    -- the support structure and the expert structures are not counted: they do not request acts
    SELECT NULL AS segment, * FROM structure_by_territory WHERE role = 'requerante'
    UNION ALL
    SELECT 'phase_' || phase, * FROM structure_by_territory WHERE role = 'requerante'
),
active AS (
    SELECT 'telemedicine_structures_active' AS indicator_id, territory_level, territory_code, period, segment,
           count_if(statut = 'realise_actes') AS numerator, count(*) AS denominator, 'taux' AS unit,
           [upload_sha256] AS upload_sha256
    FROM requesting
    GROUP BY ALL
),
offer_state AS (
    SELECT upload_sha256, period
    FROM staging.telehealth_offer
    GROUP BY upload_sha256, period
    ORDER BY period DESC, max(load_order) DESC
    LIMIT 1
),
specialties AS (
    SELECT 'teleexpertise_specialties' AS indicator_id, o.territoire_niveau AS territory_level,
           o.territoire_code AS territory_code, o.period, NULL AS segment,
           count(DISTINCT o.specialite_cle) FILTER (WHERE o.mode = 'teleexpertise' AND o.statut = 'ouverte') AS numerator,
           NULL::BIGINT AS denominator, 'nombre' AS unit, [o.upload_sha256] AS upload_sha256
    FROM staging.telehealth_offer AS o
    JOIN offer_state USING (upload_sha256, period)
    GROUP BY ALL
),
act AS (
    SELECT a.*, c.epci_siren
    FROM staging.telehealth_act AS a
    LEFT JOIN ref.commune AS c ON c.code_insee = a.code_commune
    QUALIFY row_number() OVER (
        PARTITION BY a.structure_cle, a.mois ORDER BY a.period DESC, a.load_order DESC
    ) = 1
),
act_by_territory AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, * FROM act
    UNION ALL
    SELECT 'epci', epci_siren, * FROM act WHERE epci_siren IS NOT NULL
),
acts AS (
    -- a segment is published only when at least one of its counts is given that month
    SELECT 'telemedicine_acts' AS indicator_id, territory_level, territory_code, mois AS period, NULL AS segment,
           sum(coalesce(teleexpertises, 0) + coalesce(teleconsultations, 0)) AS numerator,
           NULL::BIGINT AS denominator, 'nombre' AS unit, list_sort(list_distinct(list(upload_sha256))) AS upload_sha256
    FROM act_by_territory
    GROUP BY ALL
    UNION ALL
    SELECT 'telemedicine_acts', territory_level, territory_code, mois, 'teleexpertise', sum(teleexpertises),
           NULL::BIGINT, 'nombre', list_sort(list_distinct(list(upload_sha256)))
    FROM act_by_territory
    GROUP BY ALL
    HAVING count(teleexpertises) > 0
    UNION ALL
    SELECT 'telemedicine_acts', territory_level, territory_code, mois, 'teleconsultation', sum(teleconsultations),
           NULL::BIGINT, 'nombre', list_sort(list_distinct(list(upload_sha256)))
    FROM act_by_territory
    GROUP BY ALL
    HAVING count(teleconsultations) > 0
),
valued AS (
    SELECT * FROM structures
    UNION ALL BY NAME SELECT * FROM active
    UNION ALL BY NAME SELECT * FROM specialties
    UNION ALL BY NAME SELECT * FROM acts
)
SELECT
    indicator_id, territory_level, territory_code, period, segment,
    numerator::BIGINT AS numerator,
    denominator::BIGINT AS denominator,
    CASE
        WHEN unit = 'nombre' THEN numerator
        WHEN denominator > 0 THEN numerator / denominator
    END::DOUBLE AS value,
    unit,
    CASE WHEN unit = 'taux' AND denominator = 0 THEN 'Aucune structure requérante : taux non défini.' END AS note,
    upload_sha256
FROM valued
