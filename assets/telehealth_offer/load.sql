-- Each accepted file is one state: its rows are kept with its state date (history by file). The
-- steward's words are codes here (the "choice" columns of __init__.py); commune, département and
-- FINESS category come derived (derive_state). The offer and the acts sheets travel with the upload
-- as lists (columns `offre` and `actes`, the same on every row): unnested once here.
DELETE FROM staging.telehealth_structure WHERE upload_sha256 = $sha256;
INSERT INTO staging.telehealth_structure BY NAME
SELECT
    $period AS period,
    $load_order AS load_order,
    structure_cle,
    nom,
    finess,
    categorie_finess,
    commune_declaree,
    code_commune,
    departement,
    type_structure,
    role,
    CAST(phase AS INTEGER) AS phase,
    filiere,
    statut,
    date_premier_acte,
    $sha256 AS upload_sha256,
    source_row
FROM upload_rows;

DELETE FROM staging.telehealth_offer WHERE upload_sha256 = $sha256;
INSERT INTO staging.telehealth_offer BY NAME
SELECT $period AS period, $load_order AS load_order, $sha256 AS upload_sha256, unnest(offer_row)
FROM (SELECT unnest(offre) AS offer_row FROM (SELECT offre FROM upload_rows LIMIT 1));

DELETE FROM staging.telehealth_act WHERE upload_sha256 = $sha256;
INSERT INTO staging.telehealth_act BY NAME
SELECT $period AS period, $load_order AS load_order, $sha256 AS upload_sha256, unnest(act_row)
FROM (SELECT unnest(actes) AS act_row FROM (SELECT actes FROM upload_rows LIMIT 1));
