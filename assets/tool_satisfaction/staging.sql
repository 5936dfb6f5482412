-- Validated answers of every accepted wave of the satisfaction questionnaire (no personal data).
CREATE TABLE IF NOT EXISTS staging.tool_satisfaction (
    wave DATE NOT NULL,
    date_reponse DATE NOT NULL,
    outil VARCHAR NOT NULL CHECK (outil IN ('ror', 'telesante', 'esante_mail', 'autre')),
    note INTEGER NOT NULL CHECK (note BETWEEN 1 AND 5),
    profession VARCHAR,
    code_commune VARCHAR,
    departement VARCHAR NOT NULL,
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.tool_satisfaction IS 'Réponses validées au questionnaire de satisfaction des outils régionaux e-santé : une ligne par répondant et outil évalué, sans donnée personnelle (noms et courriels écartés à la lecture).';
COMMENT ON COLUMN staging.tool_satisfaction.wave IS 'Vague du questionnaire (premier jour du mois) : mois du nom du fichier, sinon de la réponse la plus récente.';
COMMENT ON COLUMN staging.tool_satisfaction.date_reponse IS 'Date de la réponse.';
COMMENT ON COLUMN staging.tool_satisfaction.outil IS 'Outil évalué : ror (Répertoire opérationnel des ressources), telesante (Télésanté / Qimed), esante_mail (e-santé Mail), autre.';
COMMENT ON COLUMN staging.tool_satisfaction.note IS 'Note de satisfaction, de 1 (pas du tout satisfait) à 5 (très satisfait).';
COMMENT ON COLUMN staging.tool_satisfaction.profession IS 'Profession déclarée par le répondant.';
COMMENT ON COLUMN staging.tool_satisfaction.code_commune IS 'Code INSEE de la commune d''exercice (NULL si non donnée).';
COMMENT ON COLUMN staging.tool_satisfaction.departement IS 'Code du département : celui de la commune, sinon le territoire de l''entrepôt.';
COMMENT ON COLUMN staging.tool_satisfaction.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.tool_satisfaction.source_row IS 'Numéro de ligne dans le fichier déposé.';
