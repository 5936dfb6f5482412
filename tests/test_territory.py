"""The territory in scope is a setting: the Sarthe by default, another département, a région or
all of France, with the national references (reference/SOURCES.md, files 7 and 8)."""

from __future__ import annotations

import csv
from dataclasses import replace

import polars as pl
import pytest

from assets.mes_statistics import SOURCE as MES
from assets.pharmacy_survey import SOURCE as PHARMACIES
from pipelines.problems import errors, summary, warnings
from pipelines.reference import ReferenceData
from pipelines.settings import PROJECT_ROOT
from pipelines.territory import DEPARTEMENTS, REGIONS, SARTHE, Territory, finess_departement
from pipelines.validation import parse_upload
from samples.make_mes_statistics import month_range, simulate_mes, write_mes_file
from samples.make_pharmacy_survey import build_pharmacy_wave
from tests.conftest import indicator, published, run_pipeline

REFERENCE = PROJECT_ROOT / "reference"
FRANCE = Territory("france")


def national_communes(departements: set[str]) -> list[dict]:
    with (REFERENCE / "cog2025_communes_france.csv").open(encoding="utf-8", newline="") as f:
        return [{"code": r["code_insee"], "nom": r["nom"], "population": int(r["population_municipale"]),
                 "epci_siren": r["epci_siren"], "departement": r["departement"]}
                for r in csv.DictReader(f) if r["departement"] in departements]


def test_territory_is_parsed_from_what_a_person_writes():
    assert Territory.parse("72") == SARTHE
    assert Territory.parse("2A") == Territory("departement", "2A")
    assert Territory.parse("region:52") == Territory("region", "52")
    assert Territory.parse("France") == FRANCE
    assert str(Territory.parse("region:52")) == "region:52" and str(SARTHE) == "72"
    with pytest.raises(ValueError, match="territoire inconnu"):
        Territory.parse("Sarthe")


def test_references_follow_the_territory():
    sarthe = ReferenceData(REFERENCE)
    assert sarthe.table("commune").height == 352 and sarthe.table("epci").height == 17
    france = ReferenceData(REFERENCE, FRANCE)
    assert france.table("commune").height == 34_969
    assert france.table("commune")["population_municipale_pl2023"].sum() == 68_952_941
    assert france.table("commune").columns == sarthe.table("commune").columns  # same shape for the SQL
    loire = ReferenceData(REFERENCE, Territory("departement", "44"))
    assert set(loire.table("commune")["departement"]) == {"44"}
    assert set(loire.table("finess_et")["categetab"]) == {"620"}
    assert loire.table("finess_et")["nofinesset"].str.starts_with("44").all()
    # an EPCI across the border is in scope with its members inside counted
    region = ReferenceData(REFERENCE, Territory("region", "52"))
    sablé = region.table("epci").filter(region.table("epci")["epci_siren"] == "247200090")
    assert sablé["nb_communes_total"].item() == 17 and sablé["nb_communes_72"].item() == 17  # 72 and 53: both in 52


def test_a_national_extract_is_loaded_whole_when_the_territory_is_france(settings, tmp_path):
    """Communes of two départements: with the Sarthe in scope the other is ignored (a warning);
    with France in scope both are loaded and each département gets its own values."""
    communes = national_communes({"72", "53"})
    records = simulate_mes(month_range("2024-01", "2024-12"), communes=communes, seed=11)
    path = write_mes_file(tmp_path / "MES national.csv", records)

    sarthe = parse_upload(path, MES, ReferenceData(REFERENCE), settings)
    assert sarthe.accepted, summary(sarthe.problems)
    [outside] = [p for p in warnings(sarthe.problems) if p.check == "hors_departement"]
    assert "le département 72" in outside.message
    assert sarthe.frame.filter(sarthe.frame["in_scope"]).height == 352 * 12

    national = parse_upload(path, MES, ReferenceData(REFERENCE, FRANCE), settings)
    assert national.accepted and not errors(national.problems) and not warnings(national.problems)
    assert national.frame["in_scope"].all()

    france = replace(settings, territory=FRANCE)
    (france.raw_dir / "mes_statistics").mkdir(parents=True)
    path.rename(france.raw_dir / "mes_statistics" / path.name)
    assert run_pipeline(france).success
    with published(france) as connection:
        for departement in ("72", "53"):
            rows = [r for r in records if r["mois"] == "2024-12"
                    and any(c["code"] == r["code_territoire"] and c["departement"] == departement for c in communes)]
            fed = sum(r["profils_alimentes"] for r in rows) / sum(r["profils_ouverts"] for r in rows)
            assert indicator(connection, "mes_profiles_fed_rate", "departement", departement,
                             period="2024-12-01")[2] == pytest.approx(fed)


def test_a_pharmacy_of_another_departement_is_outside_the_territory(settings, tmp_path):
    """The survey of Loire-Atlantique: its pharmacies are accepted when 44 is in scope, not in the Sarthe."""
    loire = ReferenceData(REFERENCE, Territory("departement", "44"))
    pharmacies = [{"finess": r["nofinesset"], "raison_sociale": r["rs"]}
                  for r in loire.table("finess_et").head(40).iter_rows(named=True)]
    path = build_pharmacy_wave(tmp_path / "2024-06 enquete 44.xlsx", pharmacies, mssante_count=30, fax_count=20)
    assert parse_upload(path, PHARMACIES, loire, settings).accepted
    in_sarthe = parse_upload(path, PHARMACIES, ReferenceData(REFERENCE), settings)
    assert not in_sarthe.accepted
    assert "hors du territoire de l'enquête (le département 72)" in errors(in_sarthe.problems)[0].message


def test_departements_and_regions_are_those_of_the_cog():
    """The département -> région table of pipelines/territory.py is the one of the communes of France."""
    with (REFERENCE / "cog2025_communes_france.csv").open(encoding="utf-8", newline="") as f:
        cog = {(r["departement"], r["region"]) for r in csv.DictReader(f) if r["region"] in REGIONS}
    assert cog == {(code, region) for code, (_, region) in DEPARTEMENTS.items()}
    assert len(DEPARTEMENTS) == 101 and len(REGIONS) == 18


def test_a_regional_programme_covers_the_region_of_the_territory():
    assert SARTHE.regional() == Territory("region", "52") and SARTHE.regional().name == "Pays de la Loire"
    assert Territory("departement", "35").regional() == Territory("region", "53")
    assert Territory("region", "11").regional() == Territory("region", "11") and FRANCE.regional() == FRANCE
    frame = pl.DataFrame({"finess": ["720000017", "350000014", "970100016", "970400012", "2A0000013"]})
    departements = frame.select(finess_departement(pl.col("finess")).alias("d"))["d"].to_list()
    assert departements == ["72", "35", "971", "974", "2A"]
    # without the région of each row, the région of its département
    inside = frame.select(Territory("region", "52").includes(finess_departement(pl.col("finess"))).alias("in"))["in"]
    assert inside.to_list() == [True, False, False, False, False]
    # CARE reference: the Sarthe's file, or the national file cut to the région (the same 352 establishments)
    sarthe = ReferenceData(REFERENCE).table("finess_sante_pdl")
    loire = ReferenceData(REFERENCE, Territory("departement", "44")).table("finess_sante_pdl")
    assert sorted(loire["nofinesset"]) == sorted(sarthe["nofinesset"]) and sarthe.height == 352
    assert ReferenceData(REFERENCE, FRANCE).table("finess_sante_pdl").height == 6_410
    # the pharmacies of a région: those of its départements
    region = ReferenceData(REFERENCE, Territory("region", "52")).table("finess_et")
    assert set(region["nofinesset"].str.slice(0, 2)) == {"44", "49", "53", "72", "85"}
