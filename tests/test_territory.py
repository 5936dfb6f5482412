"""The territory in scope is a setting: the Sarthe by default, another département, a région or
all of France, with the national references (reference/SOURCES.md, files 7 to 10). Names and
régions come from the reference files; overseas FINESS numbers get their own département."""

from __future__ import annotations

import csv
from dataclasses import replace

import polars as pl
import pytest

from assets.mes_statistics import SOURCE as MES
from assets.mes_statistics.sample import month_range, simulate_mes, write_mes_file
from assets.pharmacy_survey import SOURCE as PHARMACIES
from assets.pharmacy_survey.sample import build_pharmacy_wave
from pipelines.contract import reference_data
from pipelines.foundation.problems import errors, summary, warnings
from pipelines.reference.territory import Geography, Territory, finess_departement
from pipelines.validation.parse import parse_upload
from tests.conftest import REFERENCE_DIR as REFERENCE
from tests.conftest import indicator, published, run_pipeline

GEOGRAPHY = Geography.load(REFERENCE)
FRANCE = Territory.parse("france", GEOGRAPHY)
SARTHE = Territory.parse("72", GEOGRAPHY)


def national_communes(departements: set[str]) -> list[dict]:
    with (REFERENCE / "cog2025_communes_france.csv").open(encoding="utf-8", newline="") as f:
        return [
            {
                "code": r["code_insee"],
                "nom": r["nom"],
                "population": int(r["population_municipale"]),
                "epci_siren": r["epci_siren"],
                "departement": r["departement"],
            }
            for r in csv.DictReader(f)
            if r["departement"] in departements
        ]


def test_territory_is_parsed_from_what_a_person_writes_and_named_from_the_reference():
    assert Territory("departement", "72", "Sarthe") == SARTHE
    assert SARTHE.label == "le département de la Sarthe (72)"
    assert Territory.parse("01", GEOGRAPHY).label == "le département de l'Ain (01)"
    assert Territory.parse("29", GEOGRAPHY).label == "le département du Finistère (29)"
    assert Territory.parse("2A", GEOGRAPHY).name == "Corse-du-Sud"
    assert Territory.parse("region:52", GEOGRAPHY) == Territory("region", "52", "Pays de la Loire")
    assert Territory.parse("971", GEOGRAPHY).name == "Guadeloupe"
    assert FRANCE.level == "france" and FRANCE.label == "la France entière"
    assert str(Territory.parse("region:52", GEOGRAPHY)) == "region:52" and str(SARTHE) == "72"
    for wrong in ("Sarthe", "99", "region:99"):
        with pytest.raises(ValueError):
            Territory.parse(wrong, GEOGRAPHY)


def test_departements_and_regions_come_from_the_reference_files_and_agree_with_the_communes():
    with (REFERENCE / "cog2025_communes_france.csv").open(encoding="utf-8", newline="") as f:
        cog = {(r["departement"], r["region"]) for r in csv.DictReader(f)}
    assert cog <= set(GEOGRAPHY.region_of_departement.items())
    assert GEOGRAPHY.departements["53"] == "Mayenne" and GEOGRAPHY.regions["04"] == "La Réunion"
    assert len([c for c in GEOGRAPHY.departements if GEOGRAPHY.region_of_departement[c] in GEOGRAPHY.regions]) >= 101


def test_references_follow_the_territory():
    sarthe = reference_data(REFERENCE)
    assert sarthe.table("commune").height == 352 and sarthe.table("epci").height == 17
    france = reference_data(REFERENCE, "france")
    assert france.table("commune").height == 34_969
    assert france.table("commune")["population_municipale_pl2023"].sum() == 68_952_941
    assert france.table("commune").columns == sarthe.table("commune").columns  # same shape for the SQL
    loire = reference_data(REFERENCE, "44")
    assert set(loire.table("commune")["departement"]) == {"44"}
    assert set(loire.table("finess_et")["categetab"]) == {"620"}
    assert set(loire.table("finess_et")["departement"]) == {"44"}
    # an EPCI across the border is in scope with its members inside counted
    region = reference_data(REFERENCE, "region:52")
    sablé = region.table("epci").filter(region.table("epci")["epci_siren"] == "247200090")
    assert sablé["nb_communes_total"].item() == 17 and sablé["nb_communes_72"].item() == 17  # 72 and 53: both in 52


def test_overseas_finess_numbers_get_their_own_departement():
    frame = pl.DataFrame({"finess": ["720000017", "350000014", "970100016", "970400012", "2A0000013", "985000011"]})
    departements = frame.select(finess_departement(pl.col("finess")).alias("d"))["d"].to_list()
    assert departements == ["72", "35", "971", "974", "2A", "976"]
    # the national extract says "97" for every overseas pharmacy: the reference table says which one
    france = reference_data(REFERENCE, "france").table("finess_et")
    overseas = france.filter(pl.col("nofinesset").str.starts_with("97"))
    assert set(overseas["departement"]) == {"971", "972", "973", "974"}
    assert overseas.filter(pl.col("departement") == "971").height == 159  # 9701... in the 2021 extract


def test_guadeloupe_pharmacies_are_accepted_when_971_is_in_scope(settings, tmp_path):
    guadeloupe = reference_data(REFERENCE, "971")
    pharmacies = [
        {"finess": r["nofinesset"], "raison_sociale": r["rs"]}
        for r in guadeloupe.table("finess_et").head(30).iter_rows(named=True)
    ]
    assert len(pharmacies) == 30 and all(p["finess"].startswith("9701") for p in pharmacies)
    path = build_pharmacy_wave(tmp_path / "2024-06 enquete 971.xlsx", pharmacies, mssante_count=12, fax_count=25)
    upload = parse_upload(path, PHARMACIES, guadeloupe, settings.limits)
    assert upload.accepted, summary(upload.problems)
    in_sarthe = parse_upload(path, PHARMACIES, reference_data(REFERENCE), settings.limits)
    assert not in_sarthe.accepted
    assert "autre département (Guadeloupe)" in errors(in_sarthe.problems)[0].message

    overseas = replace(settings, territory_code="971")
    (overseas.raw_dir / "pharmacy_survey").mkdir(parents=True)
    path.rename(overseas.raw_dir / "pharmacy_survey" / path.name)
    assert run_pipeline(overseas).published
    with published(overseas) as connection:
        assert indicator(connection, "pharmacy_mssante_rate", "departement", "971")[:2] == (12, 30)
        assert indicator(connection, "pharmacy_fax_rate", "departement", "971")[:2] == (25, 30)
        name = connection.execute(
            "SELECT territoire FROM kpi.v_dernieres_valeurs WHERE indicateur = 'pharmacy_mssante_rate' "
            "AND niveau = 'departement'"
        ).fetchall()
        assert name == [("Guadeloupe",)]


def test_a_national_extract_is_loaded_whole_when_the_territory_is_france(settings, tmp_path):
    """Communes of two départements: with the Sarthe in scope the other is ignored (a warning);
    with France in scope both are loaded and each département gets its own values."""
    communes = national_communes({"72", "53"})
    records = simulate_mes(month_range("2024-01", "2024-12"), communes=communes, seed=11)
    path = write_mes_file(tmp_path / "MES national.csv", records)

    sarthe = parse_upload(path, MES, reference_data(REFERENCE), settings.limits)
    assert sarthe.accepted, summary(sarthe.problems)
    [outside] = [p for p in warnings(sarthe.problems) if p.check == "hors_departement"]
    assert "le département de la Sarthe (72)" in outside.message
    assert sarthe.frame.filter(sarthe.frame["in_scope"]).height == 352 * 12

    national = parse_upload(path, MES, reference_data(REFERENCE, "france"), settings.limits)
    assert national.accepted and not errors(national.problems) and not warnings(national.problems)
    assert national.frame["in_scope"].all()

    france = replace(settings, territory_code="france")
    (france.raw_dir / "mes_statistics").mkdir(parents=True)
    path.rename(france.raw_dir / "mes_statistics" / path.name)
    assert run_pipeline(france).published
    with published(france) as connection:
        for departement in ("72", "53"):
            rows = [
                r
                for r in records
                if r["mois"] == "2024-12"
                and any(c["code"] == r["code_territoire"] and c["departement"] == departement for c in communes)
            ]
            fed = sum(r["profils_alimentes"] for r in rows) / sum(r["profils_ouverts"] for r in rows)
            assert indicator(connection, "mes_profiles_fed_rate", "departement", departement, period="2024-12-01")[
                2
            ] == pytest.approx(fed)


def test_a_regional_programme_covers_the_region_of_the_territory():
    assert SARTHE.regional(GEOGRAPHY) == Territory("region", "52", "Pays de la Loire")
    assert SARTHE.regional(GEOGRAPHY).label == "la région Pays de la Loire (52)"
    assert Territory.parse("35", GEOGRAPHY).regional(GEOGRAPHY).code == "53"
    assert FRANCE.regional(GEOGRAPHY) == FRANCE
    # CARE reference: the Sarthe's file, or the national file cut to the région (the same 352 establishments)
    sarthe = reference_data(REFERENCE).table("finess_sante_pdl")
    loire = reference_data(REFERENCE, "44").table("finess_sante_pdl")
    assert sorted(loire["nofinesset"]) == sorted(sarthe["nofinesset"]) and sarthe.height == 352
    assert reference_data(REFERENCE, "france").table("finess_sante_pdl").height == 6_410
    # the pharmacies of a région: those of its départements
    region = reference_data(REFERENCE, "region:52").table("finess_et")
    assert set(region["departement"]) == {"44", "49", "53", "72", "85"}
