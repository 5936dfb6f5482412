-- Validated rows of every accepted CARE follow-up file (history by file: one state per upload).
CREATE TABLE IF NOT EXISTS staging.care_registrations (
    period DATE NOT NULL,
    load_order INTEGER NOT NULL,
    finess VARCHAR NOT NULL,
    finess_ej VARCHAR,
    raison_sociale VARCHAR,
    departement VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    categorie VARCHAR NOT NULL CHECK (categorie IN ('ght', 'non_lucratif', 'prive')),
    candidat BOOLEAN NOT NULL,
    inscrit BOOLEAN NOT NULL,
    date_inscription DATE,
    exercice_crise_requis BOOLEAN,
    exercice_crise_statut VARCHAR CHECK (exercice_crise_statut IN ('realise', 'programme', 'a_realiser')),
    date_exercice DATE,
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.care_registrations IS 'Suivi validé du programme CARE : une ligne par établissement éligible et par fichier déposé (chaque fichier est un état ; les indicateurs utilisent le dernier).';
COMMENT ON COLUMN staging.care_registrations.period IS 'Date de l''état (premier jour du mois) : mois du nom du fichier, sinon dernière date du fichier, sinon date du dépôt.';
COMMENT ON COLUMN staging.care_registrations.load_order IS 'Ordre de chargement des fichiers (à date d''état égale, le fichier chargé le plus tard fait foi).';
COMMENT ON COLUMN staging.care_registrations.finess IS 'Numéro FINESS de l''établissement (ET) ; à défaut celui de l''entité juridique (EJ) quand elle a plusieurs établissements.';
COMMENT ON COLUMN staging.care_registrations.finess_ej IS 'Numéro FINESS de l''entité juridique (EJ) gestionnaire, tel que donné par le fichier.';
COMMENT ON COLUMN staging.care_registrations.raison_sociale IS 'Raison sociale déclarée.';
COMMENT ON COLUMN staging.care_registrations.departement IS 'Code du département (44, 49, 53, 72, 85 en Pays de la Loire) : déclaré, sinon celui de l''établissement au répertoire FINESS (une entité juridique : celui de la plupart de ses établissements), sinon les premiers caractères du numéro FINESS.';
COMMENT ON COLUMN staging.care_registrations.region IS 'Code de la région du département (52 = Pays de la Loire) : le suivi CARE porte sur la région du territoire de l''entrepôt.';
COMMENT ON COLUMN staging.care_registrations.categorie IS 'Catégorie CARE : ght (public), non_lucratif (ESPIC, privé non lucratif, associatif), prive (privé lucratif).';
COMMENT ON COLUMN staging.care_registrations.candidat IS 'Candidat au programme CARE.';
COMMENT ON COLUMN staging.care_registrations.inscrit IS 'Inscrit au programme CARE.';
COMMENT ON COLUMN staging.care_registrations.date_inscription IS 'Date d''inscription au programme.';
COMMENT ON COLUMN staging.care_registrations.exercice_crise_requis IS 'Doit réaliser un exercice de crise cyber (NULL = colonne absente ou cellule vide).';
COMMENT ON COLUMN staging.care_registrations.exercice_crise_statut IS 'Statut de l''exercice de crise : realise, programme, a_realiser (NULL = inconnu).';
COMMENT ON COLUMN staging.care_registrations.date_exercice IS 'Date de l''exercice de crise (réalisé ou prévu).';
COMMENT ON COLUMN staging.care_registrations.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.care_registrations.source_row IS 'Numéro de ligne dans le fichier déposé.';
