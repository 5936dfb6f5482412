-- Objective 2 (Mon espace santé) per month at commune, EPCI and département level.
-- EPCI and département values are ratios of sums over their communes (staging.mes_territory_month),
-- never means of commune rates. A rate always carries its numerator and denominator.
SELECT
    'mes_profiles_fed_rate' AS indicator_id,
    territory_level, territory_code, mois AS period, NULL::VARCHAR AS segment,
    profils_alimentes::DOUBLE AS numerator,
    profils_ouverts::DOUBLE AS denominator,
    CASE WHEN profils_ouverts > 0 THEN profils_alimentes / profils_ouverts END AS value,
    'taux' AS unit,
    upload_sha256
FROM staging.mes_territory_month
UNION ALL
-- Documents added over the 12 months ending that month / population of that month; only when the
-- 12 months are all there (checks.sql reports the gaps). Not a rate: it may exceed 1.
SELECT
    'mes_documents_per_inhabitant',
    territory_level, territory_code, mois, NULL::VARCHAR,
    documents_12_months::DOUBLE,
    population::DOUBLE,
    documents_12_months / population,
    'par habitant',
    window_upload_sha256
FROM staging.mes_territory_month
WHERE window_complete

