-- Readable views for people who know little SQL: French column names, latest values, names of places.
-- Created in the working database before each publication.

CREATE OR REPLACE VIEW ref.territoire AS
SELECT 'commune' AS niveau, code_insee AS code, nom FROM ref.commune
UNION ALL
SELECT 'epci', epci_siren, epci_nom FROM ref.epci
UNION ALL
SELECT 'departement', code, nom FROM (VALUES
    ('44', 'Loire-Atlantique'), ('49', 'Maine-et-Loire'), ('53', 'Mayenne'), ('72', 'Sarthe'), ('85', 'Vendée')
) AS d(code, nom)
UNION ALL
SELECT 'region', '52', 'Pays de la Loire';
COMMENT ON VIEW ref.territoire IS 'Noms des territoires (communes, EPCI, départements, région) par niveau et code.';
COMMENT ON COLUMN ref.territoire.niveau IS 'Niveau territorial : commune, epci, departement, region.';
COMMENT ON COLUMN ref.territoire.code IS 'Code du territoire (INSEE, SIREN de l''EPCI, département, région).';
COMMENT ON COLUMN ref.territoire.nom IS 'Nom du territoire.';

CREATE OR REPLACE VIEW kpi.v_dernieres_valeurs AS
WITH ranked AS (
    SELECT v.*, row_number() OVER (
        PARTITION BY v.indicator_id, v.territory_level, v.territory_code, v.segment ORDER BY v.period DESC
    ) AS rang
    FROM kpi.indicator_value AS v
)
SELECT
    i.objective AS objectif,
    r.indicator_id AS indicateur,
    i.label AS libelle,
    r.territory_level AS niveau,
    r.territory_code AS code_territoire,
    t.nom AS territoire,
    r.period AS periode,
    r.segment,
    r.numerator AS numerateur,
    r.denominator AS denominateur,
    r.value AS valeur,
    r.unit AS unite,
    CASE
        WHEN r.value IS NULL THEN NULL
        WHEN r.unit = 'taux' THEN replace(printf('%.1f %%', r.value * 100), '.', ',')
        WHEN r.unit = 'nombre' THEN printf('%d', CAST(round(r.value) AS BIGINT))
        ELSE replace(printf('%.2f', r.value), '.', ',')
    END AS valeur_affichee
FROM ranked AS r
JOIN kpi.indicator AS i USING (indicator_id)
LEFT JOIN ref.territoire AS t ON t.niveau = r.territory_level AND t.code = r.territory_code
WHERE r.rang = 1;
COMMENT ON VIEW kpi.v_dernieres_valeurs IS 'Dernière valeur connue de chaque indicateur, par territoire et segment, en colonnes françaises.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.objectif IS 'Numéro de l''objectif de la feuille de route.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.indicateur IS 'Identifiant de l''indicateur.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.libelle IS 'Libellé de l''indicateur.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.niveau IS 'Niveau territorial.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.code_territoire IS 'Code du territoire.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.territoire IS 'Nom du territoire.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.periode IS 'Période de la valeur (la plus récente).';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.segment IS 'Sous-population (vide = ensemble).';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.numerateur IS 'Numérateur.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.denominateur IS 'Dénominateur.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.valeur IS 'Valeur (taux entre 0 et 1, effectif ou ratio).';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.unite IS 'Unité.';
COMMENT ON COLUMN kpi.v_dernieres_valeurs.valeur_affichee IS 'Valeur mise en forme à la française (78,8 %).';

CREATE OR REPLACE VIEW kpi.v_objectif_1_inclusion AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 1;
CREATE OR REPLACE VIEW kpi.v_objectif_2_mon_espace_sante AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 2;
CREATE OR REPLACE VIEW kpi.v_objectif_3_elus_cls AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 3;
CREATE OR REPLACE VIEW kpi.v_objectif_4_cybersecurite AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 4;
CREATE OR REPLACE VIEW kpi.v_objectif_5_ressources AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 5;
CREATE OR REPLACE VIEW kpi.v_objectif_6_telesante AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 6;
CREATE OR REPLACE VIEW kpi.v_objectif_7_messagerie AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 7;
CREATE OR REPLACE VIEW kpi.v_objectif_8_ergonomie AS SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = 8;
COMMENT ON VIEW kpi.v_objectif_1_inclusion IS 'Objectif 1, inclusion numérique : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_2_mon_espace_sante IS 'Objectif 2, Mon espace santé : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_3_elus_cls IS 'Objectif 3, élus et contrats locaux de santé : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_4_cybersecurite IS 'Objectif 4, cybersécurité (programme CARE, exercices de crise) : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_5_ressources IS 'Objectif 5, ressources et événements : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_6_telesante IS 'Objectif 6, télésanté : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_7_messagerie IS 'Objectif 7, messageries sécurisées (MSSanté, fax des officines) : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_8_ergonomie IS 'Objectif 8, ergonomie des outils (qualitatif dans la feuille de route, aucun indicateur à ce jour).';

CREATE OR REPLACE VIEW audit.v_lignee AS
SELECT
    v.indicator_id AS indicateur,
    v.territory_level AS niveau,
    v.territory_code AS code_territoire,
    v.period AS periode,
    v.segment,
    v.value AS valeur,
    u.source_id AS source,
    u.file_name AS fichier,
    u.folder AS dossier,
    u.sha256,
    u.processed_at AS traite_le
FROM kpi.indicator_value AS v
JOIN audit.upload AS u ON list_contains(v.upload_sha256, u.sha256);
COMMENT ON VIEW audit.v_lignee IS 'Lignée : pour chaque valeur d''indicateur, les fichiers déposés dont elle est calculée.';
COMMENT ON COLUMN audit.v_lignee.indicateur IS 'Identifiant de l''indicateur.';
COMMENT ON COLUMN audit.v_lignee.niveau IS 'Niveau territorial.';
COMMENT ON COLUMN audit.v_lignee.code_territoire IS 'Code du territoire.';
COMMENT ON COLUMN audit.v_lignee.periode IS 'Période de la valeur.';
COMMENT ON COLUMN audit.v_lignee.segment IS 'Sous-population (vide = ensemble).';
COMMENT ON COLUMN audit.v_lignee.valeur IS 'Valeur de l''indicateur.';
COMMENT ON COLUMN audit.v_lignee.source IS 'Source du fichier.';
COMMENT ON COLUMN audit.v_lignee.fichier IS 'Nom du fichier déposé.';
COMMENT ON COLUMN audit.v_lignee.dossier IS 'Dossier de dépôt du référent.';
COMMENT ON COLUMN audit.v_lignee.sha256 IS 'Empreinte du contenu du fichier.';
COMMENT ON COLUMN audit.v_lignee.traite_le IS 'Date du dernier traitement du fichier.';
