-- Validated rows of every accepted register of local health contracts, one state per month.
CREATE TABLE IF NOT EXISTS staging.cls_register (
    period DATE NOT NULL,
    identifiant VARCHAR NOT NULL,
    nom VARCHAR,
    epci VARCHAR,
    communes VARCHAR[] NOT NULL,
    date_signature DATE,
    date_fin DATE,
    statut VARCHAR NOT NULL CHECK (statut IN ('signe', 'en_preparation', 'echu')),
    en_vigueur BOOLEAN NOT NULL,
    axe_numerique BOOLEAN NOT NULL,
    actions_esante BIGINT CHECK (actions_esante >= 0),
    upload_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.cls_register IS 'Registre validé des contrats locaux de santé (CLS) : une ligne par contrat et par mois de registre déposé (un nouveau fichier pour le même mois remplace le précédent).';
COMMENT ON COLUMN staging.cls_register.period IS 'Mois du registre (premier jour) : mois du nom du fichier, sinon du dépôt.';
COMMENT ON COLUMN staging.cls_register.identifiant IS 'Identifiant du contrat dans le registre.';
COMMENT ON COLUMN staging.cls_register.nom IS 'Nom du contrat local de santé.';
COMMENT ON COLUMN staging.cls_register.epci IS 'SIREN de l''EPCI couvert (NULL si le contrat est décrit par ses communes).';
COMMENT ON COLUMN staging.cls_register.communes IS 'Codes INSEE des communes couvertes, tels que listés (vide : tout l''EPCI).';
COMMENT ON COLUMN staging.cls_register.date_signature IS 'Date de signature.';
COMMENT ON COLUMN staging.cls_register.date_fin IS 'Date de fin (échéance) du contrat.';
COMMENT ON COLUMN staging.cls_register.statut IS 'Statut déclaré : signe (signé), en_preparation, echu (échu).';
COMMENT ON COLUMN staging.cls_register.en_vigueur IS 'Vrai si le contrat est signé et en vigueur au mois du registre (signé au plus tard à la fin du mois, pas terminé avant son début).';
COMMENT ON COLUMN staging.cls_register.axe_numerique IS 'Vrai si le numérique en santé est un axe du contrat.';
COMMENT ON COLUMN staging.cls_register.actions_esante IS 'Nombre d''actions (fiches actions) e-santé du contrat.';
COMMENT ON COLUMN staging.cls_register.upload_sha256 IS 'Fichier déposé d''où vient la ligne (audit.upload.sha256).';
COMMENT ON COLUMN staging.cls_register.source_row IS 'Numéro de ligne dans le fichier déposé.';
