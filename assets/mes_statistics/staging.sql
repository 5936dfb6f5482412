-- Validated Mon espace santé statistics: one row per (niveau, code_territoire, mois), the latest upload wins.
CREATE TABLE IF NOT EXISTS staging.mes_statistics (
    niveau VARCHAR NOT NULL CHECK (niveau IN ('commune', 'epci', 'departement')),
    code_territoire VARCHAR NOT NULL,
    mois DATE NOT NULL,
    libelle VARCHAR,
    population BIGINT NOT NULL CHECK (population >= 0),
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
COMMENT ON COLUMN staging.mes_statistics.population IS 'Population du territoire donnée par le fichier pour ce mois (0 pour une commune sans habitant).';
COMMENT ON COLUMN staging.mes_statistics.profils_ouverts IS 'Profils Mon espace santé ouverts en fin de mois.';
COMMENT ON COLUMN staging.mes_statistics.profils_alimentes IS 'Profils ayant reçu au moins un document, en fin de mois.';
COMMENT ON COLUMN staging.mes_statistics.documents_ajoutes IS 'Documents ajoutés au cours du mois.';
COMMENT ON COLUMN staging.mes_statistics.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.mes_statistics.source_row IS 'Numéro de ligne dans le fichier déposé.';
