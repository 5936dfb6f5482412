-- Validated answers of every accepted survey wave (no personal data).
CREATE TABLE IF NOT EXISTS staging.pharmacy_survey (
    wave DATE NOT NULL,
    finess VARCHAR NOT NULL,
    departement VARCHAR NOT NULL,
    raison_sociale VARCHAR,
    code_commune VARCHAR,
    mssante BOOLEAN,
    operateur_mssante VARCHAR,
    fax BOOLEAN,
    fax_envois_semaine BIGINT,
    date_reponse TIMESTAMP,
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.pharmacy_survey IS 'Réponses validées à l''enquête MSSanté et fax des officines, une ligne par officine et par vague.';
COMMENT ON COLUMN staging.pharmacy_survey.wave IS 'Vague d''enquête (premier jour du mois).';
COMMENT ON COLUMN staging.pharmacy_survey.finess IS 'Numéro FINESS géographique (ET) de l''officine.';
COMMENT ON COLUMN staging.pharmacy_survey.departement IS 'Département de l''officine, déduit de son numéro FINESS (971 à 976 outre-mer).';
COMMENT ON COLUMN staging.pharmacy_survey.raison_sociale IS 'Raison sociale déclarée.';
COMMENT ON COLUMN staging.pharmacy_survey.code_commune IS 'Code INSEE de la commune déclaré (sinon pris du répertoire FINESS).';
COMMENT ON COLUMN staging.pharmacy_survey.mssante IS 'Équipée d''une boîte aux lettres MSSanté (NULL = sans réponse).';
COMMENT ON COLUMN staging.pharmacy_survey.operateur_mssante IS 'Opérateur MSSanté déclaré.';
COMMENT ON COLUMN staging.pharmacy_survey.fax IS 'Possède encore un fax (NULL = sans réponse).';
COMMENT ON COLUMN staging.pharmacy_survey.fax_envois_semaine IS 'Nombre de fax envoyés par semaine.';
COMMENT ON COLUMN staging.pharmacy_survey.date_reponse IS 'Date et heure de la réponse.';
COMMENT ON COLUMN staging.pharmacy_survey.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.pharmacy_survey.source_row IS 'Numéro de ligne dans le fichier déposé.';
