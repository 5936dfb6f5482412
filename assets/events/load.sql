-- The register grows: each accepted upload is the whole register and replaces every row of the one
-- before (uploads are loaded in the order they arrived). The history of the uploads is audit.upload.
DELETE FROM staging.events;
INSERT INTO staging.events BY NAME
SELECT
    $period AS register_period,
    date_evenement,
    intitule,
    type_evenement,
    objectifs_retenus::INTEGER[] AS objectifs,
    objectifs_declares,
    organisateur,
    lieu,
    code_commune,
    epci_deduit AS epci,
    departement,
    public,
    participants,
    ateliers,
    retours_experience,
    retours_experience_telesante,
    stands,
    $sha256 AS upload_sha256,
    source_row
FROM upload_rows;
