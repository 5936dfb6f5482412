-- A later upload replaces the (niveau, code_territoire, mois) it repeats; other months are kept.
-- upload_rows comes validated, with the canonical niveau and code and the in_scope flag
-- (derive_territories): territories of another territory (a national extract) are not loaded.
DELETE FROM staging.mes_statistics AS s
USING upload_rows AS u
WHERE u.in_scope AND s.niveau = u.niveau AND s.code_territoire = u.code_territoire AND s.mois = u.mois;
INSERT INTO staging.mes_statistics BY NAME
SELECT niveau, code_territoire, mois, libelle, population, profils_ouverts, profils_alimentes, documents_ajoutes,
       $sha256 AS upload_sha256, source_row
FROM upload_rows WHERE in_scope;
