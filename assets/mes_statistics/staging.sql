-- Validated Mon espace santé statistics: one row per (niveau, code_territoire, mois), the latest upload wins.
CREATE TABLE IF NOT EXISTS staging.mes_statistics (
    niveau VARCHAR NOT NULL CHECK (niveau IN ('commune', 'epci', 'departement')),
    code_territoire VARCHAR NOT NULL,
    mois DATE NOT NULL,
    libelle VARCHAR,
    population BIGINT NOT NULL CHECK (population > 0),
    profils_ouverts BIGINT NOT NULL CHECK (profils_ouverts >= 0),
    profils_alimentes BIGINT NOT NULL CHECK (profils_alimentes >= 0 AND profils_alimentes <= profils_ouverts),
    documents_ajoutes BIGINT NOT NULL CHECK (documents_ajoutes >= 0),
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.mes_statistics IS 'Statistiques Mon espace santé validées, une ligne par territoire (commune, EPCI, département) et par mois ; un fichier plus récent remplace les mois qu''il répète.';
COMMENT ON COLUMN staging.mes_statistics.niveau IS 'Niveau géographique : commune, epci ou departement (donné par le fichier ou déduit de la longueur du code).';
COMMENT ON COLUMN staging.mes_statistics.code_territoire IS 'Code INSEE de la commune, SIREN de l''EPCI ou code du département.';
COMMENT ON COLUMN staging.mes_statistics.mois IS 'Mois des statistiques (premier jour du mois).';
COMMENT ON COLUMN staging.mes_statistics.libelle IS 'Libellé du territoire tel qu''écrit dans le fichier.';
COMMENT ON COLUMN staging.mes_statistics.population IS 'Population du territoire donnée par le fichier pour ce mois.';
COMMENT ON COLUMN staging.mes_statistics.profils_ouverts IS 'Profils Mon espace santé ouverts en fin de mois.';
COMMENT ON COLUMN staging.mes_statistics.profils_alimentes IS 'Profils ayant reçu au moins un document, en fin de mois.';
COMMENT ON COLUMN staging.mes_statistics.documents_ajoutes IS 'Documents ajoutés au cours du mois.';
COMMENT ON COLUMN staging.mes_statistics.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.mes_statistics.source_row IS 'Numéro de ligne dans le fichier déposé.';

-- Monthly series per territory and level, with the 12-month window of documents.
-- EPCI and département = sums of their communes of the reference when the month has commune rows,
-- else the total row a file gave. Used by indicators.sql and checks.sql.
CREATE OR REPLACE VIEW staging.mes_statistics_series AS
WITH commune_month AS (
    SELECT
        c.code_insee AS commune, c.epci_siren, c.departement, s.mois, s.population, s.profils_ouverts,
        s.profils_alimentes, s.documents_ajoutes, s.upload_sha256,
        count(*) OVER (
            PARTITION BY s.code_territoire ORDER BY s.mois
            RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW
        ) AS commune_months_in_window
    FROM staging.mes_statistics AS s
    JOIN ref.commune AS c ON c.code_insee = s.code_territoire
    WHERE s.niveau = 'commune'
),
from_communes AS (
    SELECT 'commune' AS territory_level, commune AS territory_code, mois, population, profils_ouverts,
           profils_alimentes, documents_ajoutes, 1::BIGINT AS communes,
           commune_months_in_window = 12 AS communes_have_12_months, [upload_sha256] AS upload_sha256
    FROM commune_month
    UNION ALL
    SELECT 'epci', epci_siren, mois, sum(population)::BIGINT, sum(profils_ouverts)::BIGINT,
           sum(profils_alimentes)::BIGINT, sum(documents_ajoutes)::BIGINT, count(*), bool_and(commune_months_in_window = 12),
           list_sort(list_distinct(list(upload_sha256)))
    FROM commune_month
    WHERE epci_siren IS NOT NULL
    GROUP BY epci_siren, mois
    UNION ALL
    SELECT 'departement', departement, mois, sum(population)::BIGINT, sum(profils_ouverts)::BIGINT,
           sum(profils_alimentes)::BIGINT, sum(documents_ajoutes)::BIGINT, count(*), bool_and(commune_months_in_window = 12),
           list_sort(list_distinct(list(upload_sha256)))
    FROM commune_month
    GROUP BY departement, mois
),
declared AS (
    SELECT s.niveau, s.code_territoire, s.mois, s.population, s.profils_ouverts, s.profils_alimentes,
           s.documents_ajoutes, NULL::BIGINT, true, [s.upload_sha256]
    FROM staging.mes_statistics AS s
    WHERE s.niveau IN ('epci', 'departement')
      AND NOT EXISTS (
          SELECT 1 FROM from_communes AS f
          WHERE f.territory_level = s.niveau AND f.territory_code = s.code_territoire AND f.mois = s.mois
      )
),
monthly AS (
    SELECT * FROM from_communes
    UNION ALL
    SELECT * FROM declared
)
SELECT
    territory_level, territory_code, mois, population, profils_ouverts, profils_alimentes, documents_ajoutes,
    communes, upload_sha256,
    count(*) OVER w AS months_in_window,
    (sum(documents_ajoutes) OVER w)::BIGINT AS documents_12_months,
    list_sort(list_distinct(flatten(list(upload_sha256) OVER w))) AS window_upload_sha256,
    count(*) OVER w = 12
        AND communes_have_12_months
        AND (communes IS NULL OR max(communes) OVER w = communes) AS window_complete
FROM monthly
WINDOW w AS (
    PARTITION BY territory_level, territory_code ORDER BY mois
    RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW
);
COMMENT ON VIEW staging.mes_statistics_series IS 'Séries mensuelles Mon espace santé par territoire (commune, EPCI, département = somme des communes, sinon ligne de total du fichier) avec la fenêtre de 12 mois des documents ajoutés.';
COMMENT ON COLUMN staging.mes_statistics_series.territory_level IS 'Niveau territorial : commune, epci ou departement.';
COMMENT ON COLUMN staging.mes_statistics_series.territory_code IS 'Code INSEE de la commune, SIREN de l''EPCI ou code du département.';
COMMENT ON COLUMN staging.mes_statistics_series.mois IS 'Mois des statistiques (premier jour du mois).';
COMMENT ON COLUMN staging.mes_statistics_series.population IS 'Population du mois (EPCI, département : somme des communes présentes).';
COMMENT ON COLUMN staging.mes_statistics_series.profils_ouverts IS 'Profils ouverts en fin de mois (somme des communes présentes pour un EPCI ou le département).';
COMMENT ON COLUMN staging.mes_statistics_series.profils_alimentes IS 'Profils ayant reçu au moins un document en fin de mois (somme des communes présentes).';
COMMENT ON COLUMN staging.mes_statistics_series.documents_ajoutes IS 'Documents ajoutés au cours du mois (somme des communes présentes).';
COMMENT ON COLUMN staging.mes_statistics_series.communes IS 'Nombre de communes additionnées (NULL : ligne de total donnée par le fichier, sans communes ce mois-là).';
COMMENT ON COLUMN staging.mes_statistics_series.upload_sha256 IS 'Fichiers déposés d''où viennent les lignes du mois (audit.upload.sha256).';
COMMENT ON COLUMN staging.mes_statistics_series.months_in_window IS 'Nombre de mois présents dans la fenêtre des 12 mois se terminant ce mois-ci.';
COMMENT ON COLUMN staging.mes_statistics_series.documents_12_months IS 'Documents ajoutés au cours des mois présents de la fenêtre de 12 mois.';
COMMENT ON COLUMN staging.mes_statistics_series.window_upload_sha256 IS 'Fichiers déposés d''où viennent les lignes de la fenêtre de 12 mois.';
COMMENT ON COLUMN staging.mes_statistics_series.window_complete IS 'Vrai si les 12 mois sont présents (et, pour un EPCI ou le département, pour chacune de ses communes) : documents par habitant calculable.';
