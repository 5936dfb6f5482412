-- One state of the register per month: a new file for the same month replaces it, other months are kept.
DELETE FROM staging.cls_register WHERE period = $period;
INSERT INTO staging.cls_register BY NAME
SELECT
    $period AS period,
    identifiant,
    nom,
    epci,
    communes_codes AS communes,
    date_signature,
    date_fin,
    statut,
    -- in force during the register's month: signed by its end, not ended before its start
    statut = 'signe' AND date_signature <= last_day($period::DATE) AND coalesce(date_fin >= $period, true) AS en_vigueur,
    axe_numerique,
    actions_esante,
    $sha256 AS upload_sha256,
    source_row
FROM upload_rows;
