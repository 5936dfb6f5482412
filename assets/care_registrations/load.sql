-- Each accepted file is one state of the follow-up: its rows are kept with its state date (history
-- by file); the indicators take the latest state. The steward's words are already codes here (the
-- "choice" columns of __init__.py); key, département and région come derived (derive_scope: the
-- département declared, else the establishment's in the FINESS reference, else the FINESS number's).
DELETE FROM staging.care_registrations WHERE upload_sha256 = $sha256;
INSERT INTO staging.care_registrations BY NAME
SELECT
    $period AS period,
    $load_order AS load_order,
    finess,
    finess_ej,
    raison_sociale,
    departement,
    region,
    categorie,
    candidat,
    inscrit,
    date_inscription,
    exercice_crise_requis,
    exercice_crise_statut,
    date_exercice,
    $sha256 AS upload_sha256,
    source_row
FROM upload_rows;
