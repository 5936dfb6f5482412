-- Objective 4 (cybersecurity, CARE programme) indicators, on the latest state of the follow-up:
-- the accepted file with the latest state date (same date: the one loaded last). Région (each région of
-- the follow-up: 52 for Pays de la Loire) and département levels; a rate always carries its numerator
-- and denominator.
WITH latest AS (
    SELECT upload_sha256, period
    FROM staging.care_registrations
    GROUP BY upload_sha256, period
    ORDER BY period DESC, max(load_order) DESC
    LIMIT 1
),
establishment AS (
    SELECT
        s.period, s.upload_sha256, s.region, s.departement, s.categorie, s.candidat, s.inscrit, s.exercice_crise_statut,
        -- required to hold a crisis exercise: the column where filled, else a status is given
        coalesce(s.exercice_crise_requis, s.exercice_crise_statut IS NOT NULL) AS exercice_requis
    FROM staging.care_registrations AS s
    JOIN latest USING (upload_sha256, period)
),
by_territory AS (
    SELECT 'region' AS territory_level, region AS territory_code, * FROM establishment
    UNION ALL
    SELECT 'departement', departement, * FROM establishment
),
by_segment AS (
    SELECT NULL AS segment, * FROM by_territory
    UNION ALL
    SELECT categorie, * FROM by_territory
),
counted AS (
    SELECT territory_level, territory_code, period, segment, upload_sha256,
           count_if(inscrit) AS registered, count_if(candidat) AS candidates, count(*) AS eligible
    FROM by_segment
    GROUP BY ALL
),
status AS (
    SELECT * FROM (VALUES ('realise'), ('programme'), ('a_realiser')) AS t(status)
),
crisis AS (
    SELECT t.territory_level, t.territory_code, t.period, s.status AS segment, t.upload_sha256,
           count_if(t.exercice_requis AND t.exercice_crise_statut = s.status) AS numerator,
           count_if(t.exercice_requis) AS denominator
    FROM by_territory AS t CROSS JOIN status AS s
    GROUP BY ALL
    HAVING count_if(t.exercice_requis) > 0
),
valued AS (
    SELECT 'care_registration_rate' AS indicator_id, territory_level, territory_code, period, segment,
           registered AS numerator, eligible AS denominator, upload_sha256
    FROM counted
    UNION ALL
    SELECT 'care_candidates_by_category', territory_level, territory_code, period, segment,
           candidates, eligible, upload_sha256
    FROM counted
    UNION ALL
    SELECT 'crisis_exercise_status', territory_level, territory_code, period, segment,
           numerator, denominator, upload_sha256
    FROM crisis
)
SELECT
    indicator_id, territory_level, territory_code, period, segment,
    numerator::BIGINT AS numerator,
    denominator::BIGINT AS denominator,
    CASE WHEN denominator > 0 THEN numerator / denominator END AS value,
    'taux' AS unit,
    CASE WHEN denominator = 0 THEN 'Aucun établissement concerné : taux non défini.' END AS note,
    [upload_sha256] AS upload_sha256
FROM valued
