-- Monthly series per territory and level, with the 12-month window of documents, rebuilt from
-- staging.mes_statistics after each load (in the same transaction), then read by indicators.sql
-- and checks.sql. A table, not a view: the windows are computed once, not once per reader.
-- EPCI and département = sums of their communes of the reference when the month has commune rows,
-- else the total row a file gave.

CREATE OR REPLACE TABLE staging.mes_territory_month AS
WITH upload AS (
    -- lineage is carried as small integers through the windows (far cheaper than lists of
    -- hashes) and turned back into hashes at the end
    SELECT upload_sha256, row_number() OVER (ORDER BY upload_sha256) AS upload_id
    FROM (SELECT DISTINCT upload_sha256 FROM staging.mes_statistics)
),
upload_list AS (
    SELECT list(upload_sha256 ORDER BY upload_id) AS sha256 FROM upload
),
territory_month AS (
    -- month_number: months counted as integers, so that a 12-month window is RANGE 11 PRECEDING
    SELECT s.*, u.upload_id, year(s.mois) * 12 + month(s.mois) AS month_number
    FROM staging.mes_statistics AS s
    JOIN upload AS u USING (upload_sha256)
),
commune_month AS (
    -- the commune windows, computed once: a commune's own values, and what its EPCI and
    -- département need to know (are all 12 months of each of their communes there)
    SELECT
        c.code_insee AS commune, c.epci_siren, c.departement, t.mois, t.month_number, t.population,
        t.profils_ouverts, t.profils_alimentes, t.documents_ajoutes, t.upload_id,
        count(*) OVER w AS months_in_window,
        (sum(t.documents_ajoutes) OVER w)::BIGINT AS documents_12_months,
        list_distinct(list(t.upload_id) OVER w) AS window_upload_ids
    FROM territory_month AS t
    JOIN ref.commune AS c ON c.code_insee = t.code_territoire
    WHERE t.niveau = 'commune'
    WINDOW w AS (PARTITION BY t.code_territoire ORDER BY t.month_number RANGE BETWEEN 11 PRECEDING AND CURRENT ROW)
),
aggregated AS (
    -- EPCI and département: sums of their communes present that month
    SELECT 'epci' AS territory_level, epci_siren AS territory_code, mois, any_value(month_number) AS month_number,
           sum(population)::BIGINT AS population, sum(profils_ouverts)::BIGINT AS profils_ouverts,
           sum(profils_alimentes)::BIGINT AS profils_alimentes, sum(documents_ajoutes)::BIGINT AS documents_ajoutes,
           count(*) AS communes, bool_and(months_in_window = 12) AS communes_have_12_months,
           list_distinct(list(upload_id)) AS upload_ids
    FROM commune_month
    WHERE epci_siren IS NOT NULL
    GROUP BY epci_siren, mois
    UNION ALL
    SELECT 'departement', departement, mois, any_value(month_number), sum(population)::BIGINT,
           sum(profils_ouverts)::BIGINT, sum(profils_alimentes)::BIGINT, sum(documents_ajoutes)::BIGINT,
           count(*), bool_and(months_in_window = 12), list_distinct(list(upload_id))
    FROM commune_month
    GROUP BY departement, mois
),
declared AS (
    -- a total row a file gave, for a month without its communes
    SELECT t.niveau, t.code_territoire, t.mois, t.month_number, t.population, t.profils_ouverts,
           t.profils_alimentes, t.documents_ajoutes, NULL::BIGINT, true, [t.upload_id]
    FROM territory_month AS t
    WHERE t.niveau IN ('epci', 'departement')
      AND NOT EXISTS (
          SELECT 1 FROM aggregated AS a
          WHERE a.territory_level = t.niveau AND a.territory_code = t.code_territoire AND a.mois = t.mois
      )
),
above_commune AS (
    SELECT
        territory_level, territory_code, mois, population, profils_ouverts, profils_alimentes, documents_ajoutes,
        communes, upload_ids,
        count(*) OVER w AS months_in_window,
        (sum(documents_ajoutes) OVER w)::BIGINT AS documents_12_months,
        list_distinct(flatten(list(upload_ids) OVER w)) AS window_upload_ids,
        count(*) OVER w = 12
            AND communes_have_12_months
            AND (communes IS NULL OR max(communes) OVER w = communes) AS window_complete
    FROM (SELECT * FROM aggregated UNION ALL SELECT * FROM declared)
    WINDOW w AS (
        PARTITION BY territory_level, territory_code ORDER BY month_number RANGE BETWEEN 11 PRECEDING AND CURRENT ROW
    )
),
territory_window AS (
    SELECT 'commune' AS territory_level, commune AS territory_code, mois, population, profils_ouverts,
           profils_alimentes, documents_ajoutes, 1::BIGINT AS communes, [upload_id] AS upload_ids,
           months_in_window, documents_12_months, window_upload_ids, months_in_window = 12 AS window_complete
    FROM commune_month
    UNION ALL
    SELECT * FROM above_commune
)
SELECT
    territory_level, territory_code, mois, population, profils_ouverts, profils_alimentes, documents_ajoutes,
    communes,
    list_select(l.sha256, list_sort(upload_ids)) AS upload_sha256,
    months_in_window, documents_12_months,
    list_select(l.sha256, list_sort(window_upload_ids)) AS window_upload_sha256,
    window_complete
FROM territory_window, upload_list AS l;
COMMENT ON TABLE staging.mes_territory_month IS 'Séries mensuelles Mon espace santé par territoire (commune, EPCI, département = somme des communes, sinon ligne de total du fichier) avec la fenêtre de 12 mois des documents ajoutés ; recalculée à chaque chargement.';
COMMENT ON COLUMN staging.mes_territory_month.territory_level IS 'Niveau territorial : commune, epci ou departement.';
COMMENT ON COLUMN staging.mes_territory_month.territory_code IS 'Code INSEE de la commune, SIREN de l''EPCI ou code du département.';
COMMENT ON COLUMN staging.mes_territory_month.mois IS 'Mois des statistiques (premier jour du mois).';
COMMENT ON COLUMN staging.mes_territory_month.population IS 'Population du mois (EPCI, département : somme des communes présentes).';
COMMENT ON COLUMN staging.mes_territory_month.profils_ouverts IS 'Profils ouverts en fin de mois (somme des communes présentes pour un EPCI ou le département).';
COMMENT ON COLUMN staging.mes_territory_month.profils_alimentes IS 'Profils ayant reçu au moins un document en fin de mois (somme des communes présentes).';
COMMENT ON COLUMN staging.mes_territory_month.documents_ajoutes IS 'Documents ajoutés au cours du mois (somme des communes présentes).';
COMMENT ON COLUMN staging.mes_territory_month.communes IS 'Nombre de communes additionnées (NULL : ligne de total donnée par le fichier, sans communes ce mois-là).';
COMMENT ON COLUMN staging.mes_territory_month.upload_sha256 IS 'Fichiers déposés d''où viennent les lignes du mois (audit.upload.sha256).';
COMMENT ON COLUMN staging.mes_territory_month.months_in_window IS 'Nombre de mois présents dans la fenêtre des 12 mois se terminant ce mois-ci.';
COMMENT ON COLUMN staging.mes_territory_month.documents_12_months IS 'Documents ajoutés au cours des mois présents de la fenêtre de 12 mois.';
COMMENT ON COLUMN staging.mes_territory_month.window_upload_sha256 IS 'Fichiers déposés d''où viennent les lignes de la fenêtre de 12 mois.';
COMMENT ON COLUMN staging.mes_territory_month.window_complete IS 'Vrai si les 12 mois sont présents (et, pour un EPCI ou le département, pour chacune de ses communes) : documents par habitant calculable.';
