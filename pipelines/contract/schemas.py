"""Pandera models shared by source units: what every uploaded row, and every FINESS-keyed row, obeys."""

import pandera.polars as pa
import polars as pl

from pipelines.ingest.values import finess_key_is_valid


class UploadedRow(pa.DataFrameModel):
    """Base of every unit's model: the row number (source_row) travels with the data."""

    class Config:
        strict = False


class FinessKeyedRow(UploadedRow):
    """A row whose FINESS number, when it has one, has the right check key (Luhn, Corsica 2A/2B as 21/22)."""

    finess: str = pa.Field(nullable=True)

    @pa.check(
        "finess",
        name="cle_finess",
        error="La clé de contrôle du numéro FINESS est fausse (le 9e chiffre ne correspond pas aux 8 premiers). "
        "→ Recopiez le numéro FINESS depuis l'annuaire FINESS (finess.sante.gouv.fr).",
    )
    def finess_check_key(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | finess_key_is_valid(pl.col(data.key)))


class FinessRow(FinessKeyedRow):
    """One row per FINESS number, each with the right check key."""

    finess: str = pa.Field(unique=True)
