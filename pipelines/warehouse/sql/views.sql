-- Readable views for people who know little SQL: French column names, latest values, names of places.
-- Created in the working database before each publication; the column comments of kpi.v_series are
-- carried to the views built on it (pipelines/warehouse/indicators.py, refresh_views).

CREATE OR REPLACE VIEW ref.territoire AS
SELECT 'commune' AS niveau, code_insee AS code, nom FROM ref.commune
UNION ALL
SELECT 'epci', epci_siren, epci_nom FROM ref.epci
UNION ALL
SELECT 'departement', code, nom FROM ref.departement
UNION ALL
SELECT 'region', code, nom FROM ref.region
UNION ALL
SELECT 'france', 'FR', 'France';
COMMENT ON VIEW ref.territoire IS 'Noms des territoires (communes, EPCI, départements, régions, France) par niveau et code, depuis les référentiels.';
COMMENT ON COLUMN ref.territoire.niveau IS 'Niveau territorial : commune, epci, departement, region, france.';
COMMENT ON COLUMN ref.territoire.code IS 'Code du territoire (INSEE, SIREN de l''EPCI, département, région).';
COMMENT ON COLUMN ref.territoire.nom IS 'Nom du territoire.';

CREATE OR REPLACE VIEW kpi.v_series AS
SELECT
    i.objective AS objectif,
    v.indicator_id AS indicateur,
    i.label AS libelle,
    v.territory_level AS niveau,
    v.territory_code AS code_territoire,
    t.nom AS territoire,
    v.period AS periode,
    i.period_grain AS grain,
    v.segment,
    s.label AS segment_libelle,
    v.numerator AS numerateur,
    v.denominator AS denominateur,
    v.value AS valeur,
    v.unit AS unite,
    fr_valeur(v.value, v.unit) AS valeur_affichee,
    i.target AS cible,
    fr_valeur(i.target, v.unit) AS cible_affichee,
    i.target_label AS cible_source,
    v.note,
    v.upload_sha256 AS fichiers_sha256,
    v.computed_at AS calcule_le
FROM kpi.indicator_value AS v
JOIN kpi.indicator AS i USING (indicator_id)
LEFT JOIN kpi.indicator_segment AS s ON s.indicator_id = v.indicator_id AND s.segment = v.segment
LEFT JOIN ref.territoire AS t ON t.niveau = v.territory_level AND t.code = v.territory_code;
COMMENT ON VIEW kpi.v_series IS 'Toutes les valeurs de tous les indicateurs, toutes périodes, en colonnes françaises, avec les noms des territoires et des segments.';
COMMENT ON COLUMN kpi.v_series.objectif IS 'Numéro de l''objectif de la feuille de route.';
COMMENT ON COLUMN kpi.v_series.indicateur IS 'Identifiant de l''indicateur.';
COMMENT ON COLUMN kpi.v_series.libelle IS 'Libellé de l''indicateur.';
COMMENT ON COLUMN kpi.v_series.niveau IS 'Niveau territorial.';
COMMENT ON COLUMN kpi.v_series.code_territoire IS 'Code du territoire.';
COMMENT ON COLUMN kpi.v_series.territoire IS 'Nom du territoire.';
COMMENT ON COLUMN kpi.v_series.periode IS 'Période de la valeur.';
COMMENT ON COLUMN kpi.v_series.grain IS 'Ce que désigne la période : mois, trimestre, annee ou date.';
COMMENT ON COLUMN kpi.v_series.segment IS 'Code de la sous-population (vide = ensemble).';
COMMENT ON COLUMN kpi.v_series.segment_libelle IS 'Libellé de la sous-population.';
COMMENT ON COLUMN kpi.v_series.numerateur IS 'Numérateur.';
COMMENT ON COLUMN kpi.v_series.denominateur IS 'Dénominateur.';
COMMENT ON COLUMN kpi.v_series.valeur IS 'Valeur (taux entre 0 et 1, effectif, ratio ou moyenne).';
COMMENT ON COLUMN kpi.v_series.unite IS 'Unité.';
COMMENT ON COLUMN kpi.v_series.valeur_affichee IS 'Valeur mise en forme à la française (78,8 %, 2 193 257, 3,95).';
COMMENT ON COLUMN kpi.v_series.cible IS 'Cible de la feuille de route (même unité que la valeur), s''il y en a une.';
COMMENT ON COLUMN kpi.v_series.cible_affichee IS 'Cible mise en forme à la française (100,0 %).';
COMMENT ON COLUMN kpi.v_series.cible_source IS 'D''où vient la cible.';
COMMENT ON COLUMN kpi.v_series.note IS 'Pourquoi la valeur n''est pas définie, le cas échéant.';
COMMENT ON COLUMN kpi.v_series.fichiers_sha256 IS 'Empreintes des fichiers déposés dont la valeur est calculée (audit.upload.sha256).';
COMMENT ON COLUMN kpi.v_series.calcule_le IS 'Date et heure du calcul.';

CREATE OR REPLACE VIEW kpi.v_dernieres_valeurs AS
SELECT * EXCLUDE (rang) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY indicateur, niveau, code_territoire, segment ORDER BY periode DESC
    ) AS rang
    FROM kpi.v_series
)
WHERE rang = 1;
COMMENT ON VIEW kpi.v_dernieres_valeurs IS 'Dernière valeur connue de chaque indicateur, par territoire et segment, en colonnes françaises.';


-- One objective's latest values, ordered as a reader scans them: by indicator, from the widest territory
-- down, the whole before its segments.
CREATE OR REPLACE MACRO kpi.valeurs_objectif(numero) AS TABLE
SELECT * EXCLUDE (objectif) FROM kpi.v_dernieres_valeurs WHERE objectif = numero
ORDER BY indicateur, list_position(['france', 'region', 'departement', 'epci', 'commune'], niveau), territoire,
    segment NULLS FIRST;
CREATE OR REPLACE VIEW kpi.v_objectif_1_inclusion AS FROM kpi.valeurs_objectif(1);
CREATE OR REPLACE VIEW kpi.v_objectif_2_mon_espace_sante AS FROM kpi.valeurs_objectif(2);
CREATE OR REPLACE VIEW kpi.v_objectif_3_elus_cls AS FROM kpi.valeurs_objectif(3);
CREATE OR REPLACE VIEW kpi.v_objectif_4_cybersecurite AS FROM kpi.valeurs_objectif(4);
CREATE OR REPLACE VIEW kpi.v_objectif_5_ressources AS FROM kpi.valeurs_objectif(5);
CREATE OR REPLACE VIEW kpi.v_objectif_6_telesante AS FROM kpi.valeurs_objectif(6);
CREATE OR REPLACE VIEW kpi.v_objectif_7_messagerie AS FROM kpi.valeurs_objectif(7);
CREATE OR REPLACE VIEW kpi.v_objectif_8_ergonomie AS FROM kpi.valeurs_objectif(8);
COMMENT ON VIEW kpi.v_objectif_1_inclusion IS 'Objectif 1, inclusion numérique : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_2_mon_espace_sante IS 'Objectif 2, Mon espace santé : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_3_elus_cls IS 'Objectif 3, élus et contrats locaux de santé : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_4_cybersecurite IS 'Objectif 4, cybersécurité (programme CARE, exercices de crise) : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_5_ressources IS 'Objectif 5, ressources et événements : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_6_telesante IS 'Objectif 6, télésanté : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_7_messagerie IS 'Objectif 7, messageries sécurisées (MSSanté, fax des officines) : dernières valeurs des indicateurs.';
COMMENT ON VIEW kpi.v_objectif_8_ergonomie IS 'Objectif 8, ergonomie des outils régionaux (satisfaction de leurs utilisateurs) : dernières valeurs des indicateurs.';

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
