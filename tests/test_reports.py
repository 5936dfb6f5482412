"""The committee pack: the HTML dashboard in a real headless Chromium with the network cut, the workbook
reopened (values and native charts), the PDF's text (pdftotext), the pack rebuilt by Dagster when a new
survey wave is published, and `esante rapport`."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from pipelines.foundation.french import format_rate, format_ratio, format_value
from pipelines.reporting.pack import FILES, HTML, PDF, WORKBOOK, build_pack, pack_versions
from pipelines.warehouse.publication import published_version, read_manifest
from tests.conftest import copy_sample, published, run_pipeline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OBJECTIVES_WITH_DATA_QUERY = (
    "SELECT DISTINCT i.objective FROM kpi.indicator_value JOIN kpi.indicator AS i USING (indicator_id)"
)


@pytest.fixture(scope="module")
def pack_dir(sample_warehouse, tmp_path_factory) -> Path:
    """The pack of the samples' warehouse, written apart (the warehouse is only read)."""
    folder = tmp_path_factory.mktemp("dossier")
    paths = build_pack(sample_warehouse, out_dir=folder)
    assert [p.name for p in paths] == list(FILES)
    return folder


def plain(text: str) -> str:
    """French number spaces (narrow and plain no-break) as ordinary spaces, runs of blanks as one."""
    return re.sub(r"[ \t]+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def latest(connection, indicator_id: str, level: str, code: str, segment: str | None = None, period=None):
    return connection.execute(
        "SELECT numerator, denominator, value, period FROM kpi.indicator_value WHERE indicator_id = ? "
        "AND territory_level = ? AND territory_code = ? AND segment IS NOT DISTINCT FROM ? "
        "AND (CAST(? AS DATE) IS NULL OR period = CAST(? AS DATE)) ORDER BY period DESC LIMIT 1",
        [indicator_id, level, code, segment, period, period],
    ).fetchone()


def headline_of(connection, *key, period=None) -> str:
    numerator, denominator, value, _ = latest(connection, *key, period=period)
    return f"{format_rate(value)} ({format_ratio(numerator, denominator)})"


# --- the dashboard in a browser ----------------------------------------------------------------------


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium est absent : apt-get install -y chromium (Debian), comme le fait .ci/run.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_offline(browser, path: Path, screenshot: Path | None = None):
    """The file in a fresh page where every request but the file itself is aborted; returns the page
    and what was attempted (requests, console errors, page errors)."""
    url = path.resolve().as_uri()
    attempted, errors = [], []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")

    def route(request_route):
        if request_route.request.url == url:
            request_route.continue_()
        else:
            attempted.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: attempted.append(request.url) if request.url != url else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    return page, attempted, errors


def test_the_dashboard_opens_offline_with_no_request_and_shows_the_roadmap_figures(
    browser, pack_dir, sample_warehouse, tmp_path
):
    shot = tmp_path / "tableau-de-bord.png"
    page, attempted, errors = open_offline(browser, pack_dir / HTML, shot)
    print(f"\ncapture du tableau de bord : {shot}")
    assert attempted == [], attempted  # no CDN, no font, no image: nothing but the file
    assert errors == [], errors
    assert shot.stat().st_size > 50_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def card(indicator_id: str, territory: str, segment: str = ""):
        found = page.locator(
            f'article.figure[data-indicator="{indicator_id}"][data-territory="{territory}"][data-segment="{segment}"]'
        )
        assert found.count() == 1, (indicator_id, territory, segment)
        return found

    def headline(*key) -> str:
        return plain(card(*key).locator(".headline").inner_text()).strip()

    # the roadmap's figures, read from the rendered page, with territories by name
    assert headline("pharmacy_mssante_rate", "Sarthe") == "78,8 % (123 / 156)"
    assert headline("pharmacy_fax_rate", "Sarthe") == "91,0 % (142 / 156)"
    assert headline("care_registration_rate", "Pays de la Loire") == "92,9 % (130 / 140)"
    assert headline("mes_profiles_fed_rate", "Sarthe").startswith("69,0 % (")
    documents = plain(card("mes_documents_per_inhabitant", "Sarthe").inner_text())
    assert "Feuille de route : 3,87, 10/2024 ; entrepôt à cette date : 3,87 (" in documents
    assert "Sarthe · 11/2024" in documents
    # ... and every one of them as the warehouse holds it (the page computes, it does not recite)
    with published(sample_warehouse) as connection:
        assert headline("pharmacy_mssante_rate", "Sarthe") == headline_of(
            connection, "pharmacy_mssante_rate", "departement", "72"
        )
        assert headline("mes_profiles_fed_rate", "Sarthe") == plain(
            headline_of(connection, "mes_profiles_fed_rate", "departement", "72")
        )
        assert headline("pharmacy_fax_rate", "Sarthe", "mssante") == headline_of(
            connection, "pharmacy_fax_rate", "departement", "72", "mssante"
        )
        for status in ("realise", "programme", "a_realiser"):
            assert headline("crisis_exercise_status", "Pays de la Loire", status) == headline_of(
                connection, "crisis_exercise_status", "region", "52", status
            )
        october = latest(connection, "mes_documents_per_inhabitant", "departement", "72", period="2024-10-01")
        assert format_value(october[2], "par habitant") == "3,87"
        manifest = read_manifest(sample_warehouse)

    text = plain(page.locator("body").inner_text())
    # the snapshot is named: publication time, run id, version file
    assert manifest["run_id"][:8] in text and published_version(sample_warehouse).name in text
    published_at = dt.datetime.fromisoformat(manifest["published_at"])
    assert f"Entrepôt publié le {published_at:%d/%m/%Y à %H:%M}" in text
    # names, not codes
    assert "departement" not in text and "region 52" not in text and "a_realiser" not in text
    assert "à réaliser" in text and "privé non lucratif" in text
    # the 126-against-129 flag, where the committee reads CARE
    flags = [plain(f) for f in page.locator("#objectif-4 .flag").all_inner_texts()]
    assert any("126" in f and "129" in f and "synthèse" in f.lower() for f in flags), flags
    assert any("103 + 6 + 20 = 129" in f for f in flags), flags  # the roadmap's own sum, computed
    # all eight objectives; those without data say so
    assert page.locator("section.objective").count() == 8
    with published(sample_warehouse) as connection:
        with_data = {row[0] for row in connection.execute(OBJECTIVES_WITH_DATA_QUERY).fetchall()}
    for number in range(1, 9):
        empty = page.locator(f"#objectif-{number} .empty")
        assert (empty.count() == 0) == (number in with_data), number
    assert "110" in page.locator("#objectif-5").inner_text()  # the e-health day, as the roadmap publishes it
    # trends and breakdowns, drawn inline
    trend = page.locator('#objectif-2 svg[data-chart="mes_profiles_fed_rate-evolution"]')
    assert trend.locator("circle").count() == 13  # 11/2023 .. 11/2024
    epci = page.locator('#objectif-7 svg[data-chart="pharmacy_mssante_rate-epci"] rect')
    assert epci.count() >= 10
    categories = page.locator('#objectif-4 figure[data-chart="care_candidates_by_category-categorie"]')
    assert "Candidats" in categories.inner_text() and "Total" in categories.inner_text()
    # lineage: the file the MSSanté figures come from
    assert "2024-06 enquete officines.xlsx" in page.locator("#objectif-7 .lineage").inner_text()
    page.context.close()


def test_a_page_that_asks_for_the_network_is_caught(browser, tmp_path):
    """The harness itself: a page with a remote font and image is reported (the test above can fail)."""
    page_path = tmp_path / "reseau.html"
    page_path.write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><link rel="stylesheet" '
        'href="https://cdn.example.org/police.css"></head><body><img src="https://cdn.example.org/a.png">'
        "</body></html>",
        encoding="utf-8",
    )
    page, attempted, errors = open_offline(browser, page_path)
    assert any("cdn.example.org" in url for url in attempted)
    assert errors  # the aborted loads are console errors
    page.context.close()


# --- the workbook ------------------------------------------------------------------------------------


def charts_per_sheet(path: Path) -> dict[str, int]:
    """Native charts per sheet, from the parts of the xlsx (sheet -> drawing -> charts)."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }

    def rels(archive, part: str) -> dict[str, str]:
        folder = PurePosixPath(part).parent
        name = folder / "_rels" / f"{PurePosixPath(part).name}.rels"
        if str(name) not in archive.namelist():
            return {}
        root = ElementTree.fromstring(archive.read(str(name)))
        found = {}
        for relation in root.findall("p:Relationship", ns):
            target = relation.get("Target")  # absolute (/xl/...) or relative to the part's folder
            resolved = target.lstrip("/") if target.startswith("/") else os.path.normpath(str(folder / target))
            found[relation.get("Id")] = resolved
        return found

    counts = {}
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        targets = rels(archive, "xl/workbook.xml")
        for sheet in workbook.find("m:sheets", ns):
            part = targets[sheet.get(f"{{{ns['r']}}}id")]
            drawings = [t for t in rels(archive, part).values() if "/drawings/" in t]
            counts[sheet.get("name")] = sum(
                1 for d in drawings for t in rels(archive, d).values() if re.search(r"charts/chart\d+\.xml$", t)
            )
    return counts


def test_the_workbook_holds_the_warehouse_values_and_a_native_chart_per_objective_with_data(pack_dir, sample_warehouse):
    path = pack_dir / WORKBOOK
    with zipfile.ZipFile(path) as archive:
        assert any(re.fullmatch(r"xl/charts/chart\d+\.xml", n) for n in archive.namelist())
    charts = charts_per_sheet(path)
    workbook = load_workbook(path)
    assert workbook.sheetnames[0] == "Synthèse" and workbook.sheetnames[-1] == "Sources et fraîcheur"
    objective_sheets = {int(name.split(".")[0]): name for name in workbook.sheetnames if name[0].isdigit()}
    assert sorted(objective_sheets) == list(range(1, 9))
    with published(sample_warehouse) as connection:
        with_data = {row[0] for row in connection.execute(OBJECTIVES_WITH_DATA_QUERY).fetchall()}
        series = {
            (label, segment or "ensemble", place, period): (numerator, denominator, value)
            for label, segment, place, period, numerator, denominator, value in connection.execute(
                "SELECT libelle, segment_libelle, territoire, periode, numerateur, denominateur, valeur "
                "FROM kpi.v_series"
            ).fetchall()
        }
    assert with_data >= {2, 4, 7}  # the pharmacy survey, MES and CARE at least
    for number, name in objective_sheets.items():
        if number in with_data:
            assert charts[name] >= 1, (name, charts)
        else:
            assert charts[name] == 0
            assert "Aucune donnée" in str(workbook[name]["A4"].value)

    sheet = workbook["Synthèse"]
    headers = [c.value for c in sheet[4]]
    column = {h: i for i, h in enumerate(headers)}
    checked = 0
    for row in sheet.iter_rows(min_row=5, values_only=True):
        if row[column["Valeur"]] is None:
            continue
        key = (row[column["Indicateur"]], row[column["Segment"]], row[column["Territoire"]])
        day = row[column["Date de la période"]].date()
        numerator, denominator, value = series[(*key, day)]
        assert (row[column["Numérateur"]], row[column["Dénominateur"]]) == (numerator, denominator), key
        assert row[column["Valeur"]] == pytest.approx(value), key
        checked += 1
    assert checked >= 10
    rows = {
        (r[column["Indicateur"]], r[column["Segment"]], r[column["Territoire"]]): r
        for r in sheet.iter_rows(min_row=5, values_only=True)
    }
    mssante = rows[("Officines équipées d'une messagerie sécurisée de santé (MSSanté)", "ensemble", "Sarthe")]
    assert (mssante[column["Numérateur"]], mssante[column["Dénominateur"]]) == (123, 156)
    assert mssante[column["Feuille de route : valeur"]] == pytest.approx(123 / 156, abs=1e-6)
    documents = rows[("Documents ajoutés dans Mon espace santé par habitant sur 12 mois", "ensemble", "Sarthe")]
    assert documents[column["Feuille de route : date"]] == "10/2024"
    assert round(documents[column["Entrepôt à la date de la feuille de route"]], 2) == 3.87
    # French number formats, frozen header, filter, A4 fitted to the width
    first = next(r for r in sheet.iter_rows(min_row=5) if r[column["Unité"]].value == "taux")
    assert first[column["Valeur"]].number_format == "0.0 %"
    assert first[column["Numérateur"]].number_format == "#,##0"
    assert sheet.freeze_panes == "C5" and sheet.auto_filter.ref.startswith("A4:")
    for each in workbook.worksheets:
        assert int(each.page_setup.paperSize) == 9 and each.page_setup.fitToWidth == 1  # 9: A4
        assert each.sheet_properties.pageSetUpPr.fitToPage

    # the data beside a chart: the EPCI of the Sarthe add up to the département
    mss = workbook[objective_sheets[7]]
    values = list(mss.iter_rows(values_only=True))
    start = next(
        i for i, r in enumerate(values) if str(r[0]).startswith("Officines équipées") and "par EPCI" in str(r[0])
    )
    epci_rows = []
    for r in values[start + 2 :]:
        if r[0] is None:
            break
        epci_rows.append(r)
    assert sum(r[1] for r in epci_rows) == 123 and all(not str(r[0]).isdigit() for r in epci_rows)

    sources = workbook["Sources et fraîcheur"]
    text = " ".join(str(c) for r in sources.iter_rows(values_only=True) for c in r if c is not None)
    assert (
        "La synthèse déclare 126 établissements devant réaliser un exercice de crise, le détail en compte 129" in text
    )
    assert "2024-06 enquete officines.xlsx" in text


# --- the PDF -----------------------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext est absent : apt-get install -y poppler-utils (Debian), comme le fait .ci/run.")
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return plain(result.stdout)


def test_the_pdf_is_a4_with_a_section_per_objective_and_holds_the_figures(pack_dir, sample_warehouse):
    path = pack_dir / PDF
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    text = pdf_text(path)
    for number in range(1, 9):
        assert f"Objectif {number} –" in text
    for figure in ("78,8 % (123 / 156)", "91,0 % (142 / 156)", "92,9 % (130 / 140)", "69,0 % (", "3,87"):
        assert figure in text, figure
    assert "Sarthe" in text and "Pays de la Loire" in text
    assert "126" in text and "129" in text and "103 + 6 + 20 = 129" in text
    manifest = read_manifest(sample_warehouse)
    assert manifest["run_id"][:8] in text


# --- computed, not recited: a new wave through Dagster -------------------------------------------------


def card_text(html: str, indicator_id: str, territory: str = "Sarthe", segment: str = "") -> str:
    found = re.search(
        rf'<article class="figure" data-indicator="{indicator_id}" data-territory="{territory}" '
        rf'data-segment="{segment}">(.*?)</article>',
        html,
        re.S,
    )
    assert found, indicator_id
    return plain(unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def test_a_new_wave_rebuilds_all_three_files_through_dagster_and_changes_the_headline(settings):
    from dagster import DagsterInstance

    from pipelines.contract import unit_by_id
    from pipelines.orchestration.definitions import build_definitions
    from pipelines.orchestration.keys import refresh_job_name
    from pipelines.orchestration.report_assets import REPORTS_KEY
    from pipelines.orchestration.requests import refresh_selection
    from pipelines.orchestration.runs import SILENT_LOGS

    unit = unit_by_id("pharmacy_survey")
    copy_sample(settings, "pharmacy_survey")
    # with monthly data: a rebuild request without any names its assets one by one, and not the pack yet
    copy_sample(settings, "mes_statistics")
    reports = settings.reports_dir
    with DagsterInstance.ephemeral() as instance:
        assert run_pipeline(settings, instance=instance).published
        before = {name: (reports / name).read_bytes() for name in FILES}
        first_version = published_version(settings).stem.split("-", 1)[1]
        assert [p.name for p in pack_versions(settings)] == [first_version]
        html = before[HTML].decode("utf-8")
        assert "78,8 % (123 / 156)" in card_text(html, "pharmacy_mssante_rate")

        # a second wave: 140 of 150 respondents equipped, 60 with a fax
        build_pharmacy_wave(
            settings.raw_dir / "pharmacy_survey" / "2025-01 enquete officines.xlsx",
            load_sarthe_pharmacies()[:150],
            mssante_count=140,
            fax_count=60,
            fax_among_mssante=52,
            wave=dt.date(2025, 1, 1),
        )
        job = build_definitions(settings).resolve_job_def(refresh_job_name(unit))
        result = job.execute_in_process(
            instance=instance,
            run_config=SILENT_LOGS,
            raise_on_error=False,
            asset_selection=refresh_selection(unit, True, []),
        )
        assert result.success
        assert REPORTS_KEY in {e.asset_key for e in result.get_asset_materialization_events()}

    after = {name: (reports / name).read_bytes() for name in FILES}
    assert all(after[name] != before[name] for name in FILES)
    second_version = published_version(settings).stem.split("-", 1)[1]
    assert [p.name for p in pack_versions(settings)] == sorted([first_version, second_version])
    assert (reports / "versions" / first_version / HTML).read_bytes() == before[HTML]  # the previous pack is kept
    assert (reports / "versions" / second_version / HTML).read_bytes() == after[HTML]

    html = after[HTML].decode("utf-8")
    with published(settings) as connection:
        expected = headline_of(connection, "pharmacy_mssante_rate", "departement", "72")
        assert expected == "93,3 % (140 / 150)"
    mssante = card_text(html, "pharmacy_mssante_rate")
    assert expected in mssante and "01/2025" in mssante
    assert "Précédente : 78,8 % (06/2024) · évolution +14,5 pts" in mssante
    assert "Feuille de route : 78,8 % (123 / 156), 06/2024 ; entrepôt à cette date : 78,8 % (123 / 156)" in mssante
    assert 'data-chart="pharmacy_mssante_rate-evolution"' in html  # two waves: a trend now
    assert "40,0 % (60 / 150)" in card_text(html, "pharmacy_fax_rate")
    assert "en progrès" in card_text(html, "pharmacy_fax_rate")  # fewer faxes is better

    sheet = load_workbook(reports / WORKBOOK)["Synthèse"]
    headers = [c.value for c in sheet[4]]
    row = next(
        r
        for r in sheet.iter_rows(min_row=5, values_only=True)
        if r[1] == "Officines équipées d'une messagerie sécurisée de santé (MSSanté)" and r[3] == "Sarthe"
    )
    assert (row[headers.index("Numérateur")], row[headers.index("Dénominateur")]) == (140, 150)
    assert row[headers.index("Valeur précédente")] == pytest.approx(123 / 156)
    assert row[headers.index("Évolution")] == pytest.approx((140 / 150 - 123 / 156) * 100)
    assert "93,3 % (140 / 150)" in pdf_text(reports / PDF)


# --- the command -------------------------------------------------------------------------------------


def esante(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "esante"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_esante_rapport_writes_the_three_files_where_asked(sample_warehouse, tmp_path):
    out = tmp_path / "dossier"
    result = esante("rapport", "--warehouse", sample_warehouse.warehouse_path, "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert (
        "Dossier du comité refait" in result.stdout and read_manifest(sample_warehouse)["run_id"][:8] in result.stdout
    )
    assert result.stderr == ""

    missing = esante("rapport", "--warehouse", tmp_path / "absent" / "esante.duckdb", "--out", tmp_path / "rien")
    assert missing.returncode == 1
    assert "Aucun entrepôt publié" in missing.stderr and "esante run" in missing.stderr
    assert not (tmp_path / "rien").exists()


def test_the_rebuild_writes_the_pack_beside_the_warehouse(sample_warehouse):
    """The Dagster rebuild of the samples' warehouse made the pack, for the version it published."""
    reports = sample_warehouse.reports_dir
    assert sorted(p.name for p in reports.iterdir() if p.is_file()) == sorted(FILES)
    stamp = published_version(sample_warehouse).stem.split("-", 1)[1]
    assert [p.name for p in pack_versions(sample_warehouse)] == [stamp]
    assert (reports / HTML).read_bytes() == (reports / "versions" / stamp / HTML).read_bytes()
