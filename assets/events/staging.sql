-- The register of events and actions as last accepted (each upload replaces the whole register).
CREATE TABLE IF NOT EXISTS staging.events (
    register_period DATE NOT NULL,
    date_evenement DATE NOT NULL,
    intitule VARCHAR,
    type_evenement VARCHAR NOT NULL CHECK (type_evenement IN ('atelier_mes', 'matinee_sensibilisation', 'journee_departementale', 'webinaire', 'soiree_elus', 'formation_professionnels', 'stand', 'accompagnement_ehpad_esms', 'mediation_numerique')),
    objectifs INTEGER[] NOT NULL,
    objectifs_declares BOOLEAN NOT NULL,
    organisateur VARCHAR,
    lieu VARCHAR,
    code_commune VARCHAR,
    epci VARCHAR,
    departement VARCHAR NOT NULL,
    public VARCHAR CHECK (public IN ('citoyens', 'professionnels', 'elus', 'mixte')),
    participants BIGINT CHECK (participants >= 0),
    ateliers BIGINT CHECK (ateliers >= 0),
    retours_experience BIGINT CHECK (retours_experience >= 0),
    retours_experience_telesante BIGINT CHECK (retours_experience_telesante >= 0),
    stands BIGINT CHECK (stands >= 0),
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.events IS 'Registre validé des événements et actions e-santé (ateliers Mon espace santé, matinées de sensibilisation, journée départementale, webinaires...) : une ligne par événement, telle que dans le dernier registre accepté (chaque dépôt remplace le précédent ; l''historique des dépôts est dans audit.upload).';
COMMENT ON COLUMN staging.events.register_period IS 'Mois du registre d''où viennent les lignes (mois du nom du fichier, sinon celui du dernier événement tenu).';
COMMENT ON COLUMN staging.events.date_evenement IS 'Date de l''événement ou de l''action.';
COMMENT ON COLUMN staging.events.intitule IS 'Intitulé de l''événement.';
COMMENT ON COLUMN staging.events.type_evenement IS 'Type : atelier_mes (atelier d''activation Mon espace santé), matinee_sensibilisation, journee_departementale, webinaire, soiree_elus, formation_professionnels, stand, accompagnement_ehpad_esms, mediation_numerique.';
COMMENT ON COLUMN staging.events.objectifs IS 'Objectifs de la feuille de route (1 à 8) auxquels l''événement contribue : ceux écrits sur la ligne, sinon ceux habituels de son type.';
COMMENT ON COLUMN staging.events.objectifs_declares IS 'Vrai si les objectifs sont écrits sur la ligne, faux s''ils viennent du type d''action.';
COMMENT ON COLUMN staging.events.organisateur IS 'Organisateur déclaré.';
COMMENT ON COLUMN staging.events.lieu IS 'Lieu tel qu''écrit (salle, commune).';
COMMENT ON COLUMN staging.events.code_commune IS 'Code INSEE de la commune où l''action a eu lieu (NULL si seul l''EPCI est donné, ou pour une action départementale).';
COMMENT ON COLUMN staging.events.epci IS 'SIREN de l''EPCI : donné, sinon celui de la commune (NULL pour une action départementale sans lieu).';
COMMENT ON COLUMN staging.events.departement IS 'Code du département : celui de la commune, sinon de l''EPCI, sinon le territoire de l''entrepôt.';
COMMENT ON COLUMN staging.events.public IS 'Public : citoyens, professionnels, elus (élus), mixte.';
COMMENT ON COLUMN staging.events.participants IS 'Nombre de participants (NULL = non renseigné).';
COMMENT ON COLUMN staging.events.ateliers IS 'Nombre d''ateliers proposés.';
COMMENT ON COLUMN staging.events.retours_experience IS 'Nombre de retours d''expérience de professionnels présentés.';
COMMENT ON COLUMN staging.events.retours_experience_telesante IS 'Dont retours d''expérience sur la télésanté.';
COMMENT ON COLUMN staging.events.stands IS 'Nombre de stands partenaires installés.';
COMMENT ON COLUMN staging.events.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.events.source_row IS 'Numéro de ligne dans le fichier déposé.';
