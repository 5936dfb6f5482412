-- The analyst-facing contract of the warehouse: indicator catalogue and values, upload audit.
-- Every table and column carries a French comment (see DICTIONNAIRE.md).

CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS kpi;
CREATE SCHEMA IF NOT EXISTS audit;


CREATE TABLE IF NOT EXISTS kpi.indicator (
    indicator_id VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL,
    objective INTEGER NOT NULL,
    definition VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    period_grain VARCHAR NOT NULL,
    target DOUBLE,
    target_label VARCHAR,
    higher_is_better BOOLEAN NOT NULL DEFAULT true
);
COMMENT ON TABLE kpi.indicator IS 'Catalogue des indicateurs : identifiant, libellé, objectif de la feuille de route, définition, unité.';
COMMENT ON COLUMN kpi.indicator.indicator_id IS 'Identifiant stable de l''indicateur (anglais, snake_case).';
COMMENT ON COLUMN kpi.indicator.label IS 'Libellé en français.';
COMMENT ON COLUMN kpi.indicator.objective IS 'Numéro de l''objectif de la feuille de route (1 à 8).';
COMMENT ON COLUMN kpi.indicator.definition IS 'Définition : numérateur, dénominateur, périmètre.';
COMMENT ON COLUMN kpi.indicator.unit IS 'Unité de la valeur (taux, nombre, par habitant).';
COMMENT ON COLUMN kpi.indicator.source_id IS 'Source de données dont l''indicateur est calculé.';
COMMENT ON COLUMN kpi.indicator.target IS 'Cible fixée par la feuille de route, dans l''unité de la valeur (1 = 100 % pour un taux) ; NULL s''il n''y en a pas.';
COMMENT ON COLUMN kpi.indicator.target_label IS 'D''où vient la cible (texte de la feuille de route).';
COMMENT ON COLUMN kpi.indicator.higher_is_better IS 'Vrai si une valeur plus haute est meilleure (faux pour le fax : l''objectif est zéro).';
COMMENT ON COLUMN kpi.indicator.period_grain IS 'Ce que désigne la période : mois, trimestre, annee (année) ou date (date d''un état).';

CREATE TABLE IF NOT EXISTS kpi.indicator_value (
    indicator_id VARCHAR NOT NULL,
    territory_level VARCHAR NOT NULL,
    territory_code VARCHAR NOT NULL,
    period DATE NOT NULL,
    segment VARCHAR,
    numerator BIGINT,
    denominator BIGINT,
    value DOUBLE,
    unit VARCHAR NOT NULL,
    note VARCHAR,
    upload_sha256 VARCHAR[] NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE kpi.indicator_value IS 'Valeurs des indicateurs par territoire, période et segment, avec numérateur, dénominateur et fichiers sources.';
COMMENT ON COLUMN kpi.indicator_value.indicator_id IS 'Identifiant de l''indicateur (voir kpi.indicator).';
COMMENT ON COLUMN kpi.indicator_value.territory_level IS 'Niveau territorial : region, departement, epci ou commune.';
COMMENT ON COLUMN kpi.indicator_value.territory_code IS 'Code du territoire : code région, département, SIREN de l''EPCI ou code INSEE de la commune.';
COMMENT ON COLUMN kpi.indicator_value.period IS 'Période : date dans le mois de la vague d''enquête, premier jour du mois, ou date de l''état.';
COMMENT ON COLUMN kpi.indicator_value.segment IS 'Sous-population (NULL = ensemble), par exemple « mssante » pour les officines équipées.';
COMMENT ON COLUMN kpi.indicator_value.numerator IS 'Numérateur (effectif compté, entier).';
COMMENT ON COLUMN kpi.indicator_value.denominator IS 'Dénominateur (entier ; NULL pour un simple effectif).';
COMMENT ON COLUMN kpi.indicator_value.value IS 'Valeur : numérateur / dénominateur pour un taux (entre 0 et 1), un ratio ou une moyenne, sinon l''effectif ; NULL quand elle n''est pas définie (voir note).';
COMMENT ON COLUMN kpi.indicator_value.unit IS 'Unité de la valeur (taux, nombre, par habitant, moyenne).';
COMMENT ON COLUMN kpi.indicator_value.note IS 'Explication en français quand la valeur n''est pas définie (par exemple une population nulle), sinon NULL.';
COMMENT ON COLUMN kpi.indicator_value.upload_sha256 IS 'Empreintes SHA-256 des fichiers déposés dont la valeur est calculée (jointure avec audit.upload.sha256).';
COMMENT ON COLUMN kpi.indicator_value.computed_at IS 'Date et heure du calcul.';

CREATE TABLE IF NOT EXISTS audit.upload (
    source_id VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    folder VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    rows BIGINT,
    period DATE,
    ignored_columns VARCHAR[],
    errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    account VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, sha256)
);
COMMENT ON TABLE audit.upload IS 'Un enregistrement par fichier déposé (identifié par son contenu) : accepté ou rejeté, avec le message en français.';
COMMENT ON COLUMN audit.upload.source_id IS 'Source (dossier de dépôt) du fichier.';
COMMENT ON COLUMN audit.upload.sha256 IS 'Empreinte SHA-256 du contenu : le même contenu sous un autre nom est le même dépôt.';
COMMENT ON COLUMN audit.upload.file_name IS 'Nom du fichier tel que déposé (le plus récent s''il a été déposé sous plusieurs noms).';
COMMENT ON COLUMN audit.upload.folder IS 'Dossier de dépôt du référent.';
COMMENT ON COLUMN audit.upload.size_bytes IS 'Taille du fichier en octets.';
COMMENT ON COLUMN audit.upload.status IS 'accepted (chargé) ou rejected (refusé, rien n''est chargé).';
COMMENT ON COLUMN audit.upload.message IS 'Message en français : problèmes trouvés (fichier, feuille, ligne, colonne) et quoi faire.';
COMMENT ON COLUMN audit.upload.rows IS 'Nombre de lignes de données lues.';
COMMENT ON COLUMN audit.upload.period IS 'Période couverte par le fichier (vague, mois ou date d''état).';
COMMENT ON COLUMN audit.upload.ignored_columns IS 'Colonnes du fichier non prévues au contrat, ignorées.';
COMMENT ON COLUMN audit.upload.errors IS 'Nombre d''erreurs trouvées (un fichier qui en a est rejeté).';
COMMENT ON COLUMN audit.upload.warnings IS 'Nombre d''avertissements (le fichier est chargé).';
COMMENT ON COLUMN audit.upload.account IS 'Compte du portail qui a déposé le fichier (NULL : dépôt dans le dossier partagé).';
COMMENT ON COLUMN audit.upload.first_seen_at IS 'Première prise en compte du fichier.';
COMMENT ON COLUMN audit.upload.processed_at IS 'Dernier traitement du fichier.';

CREATE TABLE IF NOT EXISTS audit.check_result (
    check_name VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    upload_sha256 VARCHAR,
    severity VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    message VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE audit.check_result IS 'Contrôles de qualité évalués lors du dernier traitement de chaque source.';
COMMENT ON COLUMN audit.check_result.check_name IS 'Identifiant du contrôle.';
COMMENT ON COLUMN audit.check_result.source_id IS 'Source contrôlée.';
COMMENT ON COLUMN audit.check_result.stage IS 'Étape : fichier (contrôle d''un fichier déposé) ou indicateurs (contrôle des valeurs calculées).';
COMMENT ON COLUMN audit.check_result.upload_sha256 IS 'Fichier contrôlé (NULL pour un contrôle sur l''ensemble de la source).';
COMMENT ON COLUMN audit.check_result.severity IS 'erreur (bloquant) ou avertissement.';
COMMENT ON COLUMN audit.check_result.passed IS 'Vrai si le contrôle est passé.';
COMMENT ON COLUMN audit.check_result.message IS 'Résultat en français, avec les nombres comparés.';
COMMENT ON COLUMN audit.check_result.checked_at IS 'Date et heure du contrôle.';

CREATE TABLE IF NOT EXISTS audit.staging_load (
    source_id VARCHAR NOT NULL,
    upload_sha256 VARCHAR NOT NULL,
    load_order INTEGER NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, upload_sha256)
);
COMMENT ON TABLE audit.staging_load IS 'Fichiers acceptés chargés dans les tables staging, dans l''ordre de chargement (un fichier plus récent remplace ce qu''il répète).';
COMMENT ON COLUMN audit.staging_load.source_id IS 'Source du fichier.';
COMMENT ON COLUMN audit.staging_load.upload_sha256 IS 'Empreinte du fichier chargé (audit.upload.sha256).';
COMMENT ON COLUMN audit.staging_load.load_order IS 'Rang de chargement dans la source (1 = le plus ancien).';
COMMENT ON COLUMN audit.staging_load.loaded_at IS 'Date et heure du chargement.';

CREATE TABLE IF NOT EXISTS kpi.indicator_segment (
    indicator_id VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    PRIMARY KEY (indicator_id, segment)
);
COMMENT ON TABLE kpi.indicator_segment IS 'Libellés français des segments des indicateurs (« prive » : privé lucratif).';
COMMENT ON COLUMN kpi.indicator_segment.indicator_id IS 'Identifiant de l''indicateur.';
COMMENT ON COLUMN kpi.indicator_segment.segment IS 'Code du segment, tel que dans kpi.indicator_value.';
COMMENT ON COLUMN kpi.indicator_segment.label IS 'Libellé en français.';
