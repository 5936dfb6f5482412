-- Objective 7 (MSSanté) indicators from the pharmacy survey waves, at département, EPCI and commune level.
-- One row per (indicator, territory, wave, segment); a rate always carries its numerator and denominator.
WITH answer AS (
    SELECT
        s.wave AS period,
        s.finess,
        s.mssante,
        s.fax,
        s.upload_sha256,
        s.departement,
        coalesce(s.code_commune, f.code_insee_derive) AS commune,
        f.nofinesset IS NOT NULL AS in_reference
    FROM staging.pharmacy_survey AS s
    LEFT JOIN ref.finess_et AS f ON f.nofinesset = s.finess
),
answer_by_territory AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, * FROM answer
    UNION ALL
    SELECT 'epci', c.epci_siren, a.* FROM answer AS a JOIN ref.commune AS c ON c.code_insee = a.commune
    UNION ALL
    SELECT 'commune', commune, * FROM answer WHERE commune IS NOT NULL
),
pharmacy_in_reference AS (
    SELECT f.nofinesset AS finess, f.departement, f.code_insee_derive AS commune, c.epci_siren
    FROM ref.finess_et AS f LEFT JOIN ref.commune AS c ON c.code_insee = f.code_insee_derive
    WHERE f.categetab = '620'
),
reference_count AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, count(*) AS pharmacies FROM pharmacy_in_reference GROUP BY ALL
    UNION ALL
    SELECT 'epci', epci_siren, count(*) FROM pharmacy_in_reference WHERE epci_siren IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT 'commune', commune, count(*) FROM pharmacy_in_reference GROUP BY ALL
),
counted AS (
    SELECT
        territory_level, territory_code, period,
        count(mssante) AS answered_mssante,
        count_if(mssante) AS with_mssante,
        count(fax) AS answered_fax,
        count_if(fax) AS with_fax,
        count_if(mssante AND fax IS NOT NULL) AS mssante_answered_fax,
        count_if(mssante AND fax) AS mssante_with_fax,
        count_if(in_reference) AS respondents_in_reference,
        list_sort(list_distinct(list(upload_sha256))) AS upload_sha256
    FROM answer_by_territory
    GROUP BY ALL
),
rate AS (
    SELECT 'pharmacy_mssante_rate' AS indicator_id, territory_level, territory_code, period, NULL AS segment,
           with_mssante AS numerator, answered_mssante AS denominator, upload_sha256
    FROM counted
    UNION ALL
    SELECT 'pharmacy_fax_rate', territory_level, territory_code, period, NULL, with_fax, answered_fax, upload_sha256
    FROM counted
    UNION ALL
    SELECT 'pharmacy_fax_rate', territory_level, territory_code, period, 'mssante', mssante_with_fax, mssante_answered_fax, upload_sha256
    FROM counted
    UNION ALL
    SELECT 'survey_response_rate', c.territory_level, c.territory_code, c.period, NULL, c.respondents_in_reference, r.pharmacies, c.upload_sha256
    FROM counted AS c JOIN reference_count AS r USING (territory_level, territory_code)
),
-- Zero-fax progress: pharmacies that answered a wave and the wave before it.
wave_order AS (
    SELECT period, lag(period) OVER (ORDER BY period) AS previous_period FROM (SELECT DISTINCT period FROM answer)
),
paired AS (
    SELECT cur.territory_level, cur.territory_code, cur.period,
           prev.fax AS had_fax, cur.fax AS has_fax, prev.mssante AS had_mssante, cur.mssante AS has_mssante,
           [cur.upload_sha256, prev.upload_sha256] AS upload_sha256
    FROM answer_by_territory AS cur
    JOIN wave_order AS w ON w.period = cur.period
    JOIN answer_by_territory AS prev
      ON prev.period = w.previous_period AND prev.finess = cur.finess
     AND prev.territory_level = cur.territory_level AND prev.territory_code = cur.territory_code
),
progress AS (
    SELECT 'pharmacy_zero_fax_progress' AS indicator_id, territory_level, territory_code, period, 'fax_abandonne' AS segment,
           count_if(had_fax AND has_fax = false) AS numerator,
           count_if(had_fax AND has_fax IS NOT NULL) AS denominator,
           list_sort(list_distinct(flatten(list(upload_sha256)))) AS upload_sha256
    FROM paired GROUP BY ALL
    UNION ALL
    SELECT 'pharmacy_zero_fax_progress', territory_level, territory_code, period, 'mssante_nouvelle',
           count_if(had_mssante = false AND has_mssante),
           count_if(had_mssante = false AND has_mssante IS NOT NULL),
           list_sort(list_distinct(flatten(list(upload_sha256))))
    FROM paired GROUP BY ALL
)
SELECT
    indicator_id, territory_level, territory_code, period, segment,
    numerator::BIGINT AS numerator,
    denominator::BIGINT AS denominator,
    CASE WHEN denominator > 0 THEN numerator / denominator END AS value,
    'taux' AS unit,
    CASE WHEN denominator = 0 THEN 'Aucune officine concernée : taux non défini.' END AS note,
    upload_sha256
FROM (SELECT * FROM rate UNION ALL SELECT * FROM progress)
