-- A new file for a wave replaces that wave; other waves are kept. Personal columns never reach upload_rows.
DELETE FROM staging.tool_satisfaction WHERE wave = $period;
INSERT INTO staging.tool_satisfaction BY NAME
SELECT $period AS wave, date_reponse, outil, note, profession, code_commune, departement,
       $sha256 AS upload_sha256, source_row
FROM upload_rows;
