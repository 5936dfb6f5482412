-- Each accepted file is one state of the follow-up: its rows are kept with its state date (history
-- by file); the indicators take the latest state. The steward's words are mapped to codes with the
-- word lists of __init__.py (CATEGORY_WORDS, STATUS_WORDS, DEPARTEMENT_NAMES): the file was only
-- accepted if every word is known there, and the tests check that both mappings agree.
DELETE FROM staging.care_registrations WHERE upload_sha256 = $sha256;
INSERT INTO staging.care_registrations BY NAME
SELECT
    $period AS period,
    (SELECT coalesce(max(load_order), 0) + 1 FROM staging.care_registrations) AS load_order,
    finess,
    raison_sociale,
    coalesce(
        nullif(regexp_extract(departement_cle, '^(\d{2})( 0+)?( [a-z].*)?$', 1), ''),
        CASE departement_cle
            WHEN 'loire atlantique' THEN '44' WHEN 'maine et loire' THEN '49' WHEN 'mayenne' THEN '53'
            WHEN 'sarthe' THEN '72' WHEN 'vendee' THEN '85'
        END,
        substr(finess, 1, 2)
    ) AS departement,
    departement AS departement_saisi,
    CASE
        WHEN categorie_cle IN ('ght', 'groupement hospitalier de territoire', 'public', 'etablissement public',
                               'etablissement public de sante') THEN 'ght'
        WHEN categorie_cle IN ('espic', 'prive non lucratif', 'prive a but non lucratif', 'a but non lucratif',
                               'non lucratif', 'associatif', 'prive associatif',
                               'etablissement de sante prive d interet collectif') THEN 'non_lucratif'
        WHEN categorie_cle IN ('prive', 'prive lucratif', 'prive a but lucratif', 'prive commercial', 'lucratif',
                               'commercial') THEN 'prive'
    END AS categorie,
    categorie AS categorie_saisie,
    candidat,
    inscrit,
    date_inscription,
    exercice_crise_requis,
    CASE
        WHEN statut_cle IN ('realise', 'realisee', 'fait', 'faite', 'oui', 'effectue', 'effectuee') THEN 'realise'
        WHEN statut_cle IN ('programme', 'programmee', 'planifie', 'planifiee', 'prevu', 'prevue') THEN 'programme'
        WHEN statut_cle IN ('a realiser', 'a faire', 'non realise', 'non realisee', 'non', 'a programmer',
                            'a planifier') THEN 'a_realiser'
    END AS exercice_crise_statut,
    exercice_crise_statut AS exercice_crise_statut_saisi,
    date_exercice,
    $sha256 AS upload_sha256,
    source_row
FROM (
    SELECT
        *,
        trim(regexp_replace(strip_accents(lower(categorie)), '[^a-z0-9]+', ' ', 'g')) AS categorie_cle,
        trim(regexp_replace(strip_accents(lower(exercice_crise_statut)), '[^a-z0-9]+', ' ', 'g')) AS statut_cle,
        trim(regexp_replace(strip_accents(lower(departement)), '[^a-z0-9]+', ' ', 'g')) AS departement_cle
    FROM upload_rows
);
