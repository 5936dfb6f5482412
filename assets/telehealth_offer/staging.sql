-- Validated telehealth workbooks: each accepted file is one state (history by file); the indicators use
-- the latest. Three tables: the offer (sheet « Offre »), the structures of the deployment (sheet
-- « Structures »), the acts per month (sheet « Actes », optional).
CREATE TABLE IF NOT EXISTS staging.telehealth_offer (
    period DATE NOT NULL,
    load_order INTEGER NOT NULL,
    territoire_niveau VARCHAR NOT NULL,
    territoire_code VARCHAR NOT NULL,
    date_etat DATE NOT NULL,
    specialite VARCHAR NOT NULL,
    specialite_cle VARCHAR NOT NULL,
    mode VARCHAR NOT NULL CHECK (mode IN ('teleexpertise', 'teleconsultation')),
    requis VARCHAR,
    statut VARCHAR NOT NULL CHECK (statut IN ('ouverte', 'suspendue')),
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.telehealth_offer IS 'Offre de télésanté validée (feuille « Offre ») : une ligne par spécialité, mode et structure requise, par fichier déposé (chaque fichier est un état ; les indicateurs utilisent le dernier).';
COMMENT ON COLUMN staging.telehealth_offer.period IS 'Date de l''état du fichier (date de l''état de la feuille « Offre », sinon date du nom du fichier).';
COMMENT ON COLUMN staging.telehealth_offer.load_order IS 'Ordre de chargement des fichiers (à date d''état égale, le fichier chargé le plus tard fait foi).';
COMMENT ON COLUMN staging.telehealth_offer.territoire_niveau IS 'Niveau du territoire de l''offre : celui de l''entrepôt (departement, region ou france).';
COMMENT ON COLUMN staging.telehealth_offer.territoire_code IS 'Code du territoire de l''offre (72 pour la Sarthe ; FR pour la France).';
COMMENT ON COLUMN staging.telehealth_offer.date_etat IS 'Date de l''état déclarée sur la ligne.';
COMMENT ON COLUMN staging.telehealth_offer.specialite IS 'Spécialité telle qu''écrite dans le fichier.';
COMMENT ON COLUMN staging.telehealth_offer.specialite_cle IS 'Spécialité sans majuscules, accents ni ponctuation : deux lignes de même clé sont la même spécialité.';
COMMENT ON COLUMN staging.telehealth_offer.mode IS 'Mode : teleexpertise ou teleconsultation.';
COMMENT ON COLUMN staging.telehealth_offer.requis IS 'Structure requise (experte) déclarée.';
COMMENT ON COLUMN staging.telehealth_offer.statut IS 'Statut de l''offre à la date de l''état : ouverte ou suspendue.';
COMMENT ON COLUMN staging.telehealth_offer.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.telehealth_offer.source_row IS 'Numéro de ligne dans la feuille « Offre » du fichier déposé.';

CREATE TABLE IF NOT EXISTS staging.telehealth_structure (
    period DATE NOT NULL,
    load_order INTEGER NOT NULL,
    structure_cle VARCHAR NOT NULL,
    nom VARCHAR NOT NULL,
    finess VARCHAR,
    categorie_finess VARCHAR,
    commune_declaree VARCHAR,
    code_commune VARCHAR,
    departement VARCHAR NOT NULL,
    type_structure VARCHAR NOT NULL CHECK (type_structure IN ('ch', 'ehpad', 'msp', 'centre_sante', 'cabinet_liberal', 'fam', 'autre')),
    role VARCHAR NOT NULL CHECK (role IN ('appui', 'requerante', 'requise')),
    phase INTEGER NOT NULL CHECK (phase BETWEEN 1 AND 9),
    filiere VARCHAR,
    statut VARCHAR NOT NULL CHECK (statut IN ('prevue', 'equipee', 'formee', 'realise_actes')),
    date_premier_acte DATE,
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.telehealth_structure IS 'Structures validées du déploiement de la télémédecine (feuille « Structures »), une ligne par structure et par fichier déposé (chaque fichier est un état ; les indicateurs utilisent le dernier).';
COMMENT ON COLUMN staging.telehealth_structure.period IS 'Date de l''état du fichier.';
COMMENT ON COLUMN staging.telehealth_structure.load_order IS 'Ordre de chargement des fichiers (à date d''état égale, le fichier chargé le plus tard fait foi).';
COMMENT ON COLUMN staging.telehealth_structure.structure_cle IS 'Identifiant de la structure d''un état à l''autre : son numéro FINESS, sinon « nom: » et son nom sans majuscules ni accents.';
COMMENT ON COLUMN staging.telehealth_structure.nom IS 'Nom de la structure tel qu''écrit dans le fichier.';
COMMENT ON COLUMN staging.telehealth_structure.finess IS 'Numéro FINESS géographique (ET) ; NULL pour un cabinet libéral.';
COMMENT ON COLUMN staging.telehealth_structure.categorie_finess IS 'Catégorie de l''établissement au répertoire FINESS 2021 (500 EHPAD, 355 centre hospitalier…, voir ref.finess_categorie) ; NULL si absent du répertoire ou sans FINESS.';
COMMENT ON COLUMN staging.telehealth_structure.commune_declaree IS 'Code commune déclaré dans le fichier.';
COMMENT ON COLUMN staging.telehealth_structure.code_commune IS 'Code INSEE de la commune : déclaré, sinon celui du répertoire FINESS.';
COMMENT ON COLUMN staging.telehealth_structure.departement IS 'Département de la structure : celui de sa commune, sinon celui de son numéro FINESS.';
COMMENT ON COLUMN staging.telehealth_structure.type_structure IS 'Type : ch (centre hospitalier), ehpad, msp (maison de santé pluriprofessionnelle), centre_sante, cabinet_liberal, fam (foyer d''accueil médicalisé), autre.';
COMMENT ON COLUMN staging.telehealth_structure.role IS 'Rôle dans le déploiement : appui (structure d''appui), requerante (demande des avis), requise (experte).';
COMMENT ON COLUMN staging.telehealth_structure.phase IS 'Phase du déploiement (1, 2…).';
COMMENT ON COLUMN staging.telehealth_structure.filiere IS 'Filière(s) déclarée(s) (dermatologie, gériatrie…).';
COMMENT ON COLUMN staging.telehealth_structure.statut IS 'Avancement à la date de l''état : prevue, equipee, formee, realise_actes.';
COMMENT ON COLUMN staging.telehealth_structure.date_premier_acte IS 'Date du premier acte de télémédecine de la structure.';
COMMENT ON COLUMN staging.telehealth_structure.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.telehealth_structure.source_row IS 'Numéro de ligne dans la feuille des structures du fichier déposé.';

CREATE TABLE IF NOT EXISTS staging.telehealth_act (
    period DATE NOT NULL,
    load_order INTEGER NOT NULL,
    structure_cle VARCHAR NOT NULL,
    nom VARCHAR,
    finess VARCHAR,
    code_commune VARCHAR,
    departement VARCHAR NOT NULL,
    mois DATE NOT NULL,
    teleexpertises BIGINT CHECK (teleexpertises >= 0),
    teleconsultations BIGINT CHECK (teleconsultations >= 0),
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.telehealth_act IS 'Actes de télémédecine validés (feuille « Actes »), une ligne par structure, mois et fichier déposé ; pour une structure et un mois, le dernier état qui les donne fait foi.';
COMMENT ON COLUMN staging.telehealth_act.period IS 'Date de l''état du fichier d''où vient la ligne.';
COMMENT ON COLUMN staging.telehealth_act.load_order IS 'Ordre de chargement des fichiers.';
COMMENT ON COLUMN staging.telehealth_act.structure_cle IS 'Structure (voir staging.telehealth_structure.structure_cle), retrouvée par son FINESS ou son nom.';
COMMENT ON COLUMN staging.telehealth_act.nom IS 'Nom de la structure tel qu''écrit dans la feuille « Actes ».';
COMMENT ON COLUMN staging.telehealth_act.finess IS 'Numéro FINESS tel qu''écrit dans la feuille « Actes ».';
COMMENT ON COLUMN staging.telehealth_act.code_commune IS 'Code INSEE de la commune de la structure.';
COMMENT ON COLUMN staging.telehealth_act.departement IS 'Département de la structure.';
COMMENT ON COLUMN staging.telehealth_act.mois IS 'Mois des actes (premier jour du mois).';
COMMENT ON COLUMN staging.telehealth_act.teleexpertises IS 'Téléexpertises du mois (NULL : non renseigné).';
COMMENT ON COLUMN staging.telehealth_act.teleconsultations IS 'Téléconsultations du mois (NULL : non renseigné).';
COMMENT ON COLUMN staging.telehealth_act.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.telehealth_act.source_row IS 'Numéro de ligne dans la feuille « Actes » du fichier déposé.';
