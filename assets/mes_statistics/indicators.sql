-- Objective 2 (Mon espace santé) per month at commune, EPCI and département level.
-- EPCI and département values are ratios of sums over their communes (staging.mes_territory_month),
-- never means of commune rates. A rate always carries its numerator and denominator; a value that is
-- not defined (no profile, no inhabitant) is NULL with a note, never a division by zero.
SELECT
    'mes_profiles_fed_rate' AS indicator_id,
    territory_level, territory_code, mois AS period, NULL::VARCHAR AS segment,
    profils_alimentes::BIGINT AS numerator,
    profils_ouverts::BIGINT AS denominator,
    CASE WHEN profils_ouverts > 0 THEN profils_alimentes / profils_ouverts END AS value,
    'taux' AS unit,
    CASE WHEN profils_ouverts = 0 THEN 'Aucun profil ouvert : taux non défini.' END AS note,
    upload_sha256
FROM staging.mes_territory_month
UNION ALL
-- Documents added over the 12 months ending that month / population of that month; only when the
-- 12 months are all there (checks.sql reports the gaps). Not a rate: it may exceed 1.
SELECT
    'mes_documents_per_inhabitant',
    territory_level, territory_code, mois, NULL::VARCHAR,
    documents_12_months::BIGINT,
    population::BIGINT,
    CASE WHEN population > 0 THEN documents_12_months / population END,
    'par habitant',
    CASE WHEN population = 0 THEN 'Territoire sans habitant (population 0) : valeur par habitant non définie.' END,
    window_upload_sha256
FROM staging.mes_territory_month
WHERE window_complete
