-- A new file for a wave replaces that wave (a corrected file supersedes the first one).
DELETE FROM staging.pharmacy_survey WHERE wave = $period;
INSERT INTO staging.pharmacy_survey BY NAME
SELECT $period AS wave, $sha256 AS upload_sha256, * FROM upload_rows;
