"""A steward's visit in a real browser: Debian's chromium driven by Playwright, against the real
`esante portail` process, on a warehouse published by the real pipeline.

Log in, send a broken file and read the French verdict with its cells, download the annotated
workbook, drop a corrected file on the page (drag-and-drop), read its impact on the published
indicators, confirm, and follow the deposit until the warehouse is published and the receipt is
complete. The publication is the real pipeline run by the test itself after the confirmation: it
stands for the Dagster daemon, whose sensor would see the new file in raw/. The portal never runs
the pipeline (one writer of the warehouse, the daemon); it only reads what was published.
Screenshots are saved in the test's folder; their paths are printed.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import copy_sample, published, run_pipeline
from tests.test_portal_http import JUNE, PASSWORD, broken_wave, corrected_wave, portal_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MSSANTE = "Officines équipées d'une messagerie sécurisée de santé (MSSanté)"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def esante(settings, *args, stdin: str | None = None, **options):
    command = [str(Path(sys.executable).parent / "esante"), *args]
    environment = {**os.environ, **settings.as_environment()}
    if stdin is None:
        return subprocess.Popen(command, env=environment, **options)
    return subprocess.run(command, env=environment, input=stdin, text=True, capture_output=True, timeout=120)


@pytest.fixture
def running_portal(settings, tmp_path):
    """A published warehouse (the June 2024 sample wave), an account made with the CLI, and the portal
    running as `esante portail` on a free port of 127.0.0.1."""
    settings = portal_settings(settings, tmp_path)
    copy_sample(settings, "pharmacy_survey", JUNE)
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.failures
    added = esante(settings, "utilisateur", "ajouter", "ars72", "--sources", "pharmacy_survey", stdin=f"{PASSWORD}\n")
    assert added.returncode == 0, added.stderr
    port = free_port()
    log = (tmp_path / "portail.log").open("w")
    process = esante(settings, "portail", "--port", str(port), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/connexion", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "portail.log").read_text()
            assert time.monotonic() < deadline, "le portail n'a pas démarré"
            time.sleep(0.3)
        yield settings, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_steward_checks_fixes_deposits_and_follows_a_file_to_publication(running_portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, url = running_portal
    shots = tmp_path / "captures"
    shots.mkdir()
    taken: list[Path] = []

    def shot(page, name: str) -> None:
        path = shots / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)

    broken = broken_wave(tmp_path / "envoi" / "2024-06 enquete officines casse.xlsx")
    corrected = corrected_wave(tmp_path / "envoi" / "2024-06 enquete officines corrigee.xlsx")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True, locale="fr-FR", viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)

            # without a session, the login page
            page.goto(f"{url}/")
            expect(page).to_have_url(f"{url}/connexion")
            shot(page, "connexion")
            page.fill("input[name=identifiant]", "ars72")
            page.fill("input[name=mot_de_passe]", PASSWORD)
            page.click("text=Se connecter")
            expect(page.locator("header")).to_contain_text("Connecté : ars72")
            expect(page.locator("body")).to_contain_text("Enquête MSSanté et fax auprès des officines")

            # a broken file: the French verdict, every problem with its cell
            page.set_input_files("input[name=fichier]", str(broken))
            page.click("text=Vérifier le fichier")
            expect(page.locator("#verdict")).to_have_text("invalide")
            problems = page.locator("table.problemes")
            expect(problems).to_contain_text("D4")
            expect(problems).to_contain_text("La valeur n'est pas reconnue comme Oui ou Non")
            expect(problems).to_contain_text("G6")
            expect(problems).to_contain_text("C10")
            expect(problems).to_contain_text("Ce code commune n'existe pas parmi les communes du territoire")
            expect(page.locator("body")).not_to_contain_text("Confirmer le dépôt")
            shot(page, "verdict-invalide")

            # the annotated workbook
            with page.expect_download() as download:
                page.click("#classeur-annote")
            annotated = tmp_path / "classeur-annote.xlsx"
            download.value.save_as(annotated)
            workbook = load_workbook(annotated)
            assert workbook.sheetnames[0] == "Problèmes"
            assert "Oui ou Non" in workbook["Réponses"]["D4"].comment.text
            assert workbook["Réponses"]["D4"].fill.start_color.rgb == "FFFF9999"

            # the corrected file, dropped on the page (the page's drag-and-drop script sends it)
            page.goto(f"{url}/")
            transfer = page.evaluate_handle(
                """([content, name]) => {
                    const bytes = Uint8Array.from(atob(content), c => c.charCodeAt(0));
                    const transfer = new DataTransfer();
                    transfer.items.add(new File([bytes], name));
                    return transfer;
                }""",
                [base64.b64encode(corrected.read_bytes()).decode(), corrected.name],
            )
            page.dispatch_event("#zone-depot", "drop", {"dataTransfer": transfer})
            expect(page.locator("#verdict")).to_have_text("valide")
            expect(page.locator("#comparaison")).to_contain_text("3 problèmes corrigés, 0 restant")
            impact = page.locator("table.impact").first
            row = impact.locator("tr", has_text=MSSANTE).filter(has_text="Sarthe")
            expect(row).to_contain_text("123 / 156")
            expect(row).to_contain_text("→ 127 / 156")
            assert f"{MSSANTE}, Sarthe, 06/2024 : 123 / 156 → 127 / 156" == row.get_attribute("title")
            shot(page, "impact")

            # confirmation, then the receipt waits for the publication
            page.click("#confirmer")
            expect(page.locator("#recu")).to_contain_text("ars72")
            expect(page.locator("#attente")).to_contain_text("En attente de publication")
            shot(page, "en-attente-de-publication")
            stored = settings.raw_dir / "pharmacy_survey" / corrected.name
            assert stored.read_bytes() == corrected.read_bytes()

            # stands for the daemon's run after its sensor saw the file; in a thread of its own, away from
            # the event loop Playwright's synchronous API keeps in this one
            with ThreadPoolExecutor(1) as daemon:
                outcome = daemon.submit(run_pipeline, settings).result()
            assert outcome.published, outcome.failures
            expect(page.locator("#execution")).to_have_text(outcome.run_id, timeout=90_000)  # the page refreshes itself
            receipt = page.locator("#recu")
            expect(receipt).to_contain_text(corrected.name)
            expect(receipt).to_contain_text("fichier accepté, déposé par le compte « ars72 » (audit.upload)")
            expect(page.locator("#publication")).not_to_be_empty()
            shot(page, "recu-publie")

            page.goto(f"{url}/")
            expect(page.locator("body")).to_contain_text("publié le")
            shot(page, "accueil-historique")

            # the plain form, in a browser without JavaScript
            plain = browser.new_context(java_script_enabled=False, locale="fr-FR").new_page()
            plain.set_default_timeout(60_000)
            plain.goto(f"{url}/")
            plain.fill("input[name=identifiant]", "ars72")
            plain.fill("input[name=mot_de_passe]", PASSWORD)
            plain.click("text=Se connecter")
            plain.set_input_files("input[name=fichier]", str(broken))
            plain.click("text=Vérifier le fichier")
            expect(plain.locator("#verdict")).to_have_text("invalide")
            expect(plain.locator("table.problemes")).to_contain_text("D4")
            shot(plain, "sans-javascript")
        finally:
            browser.close()

    with published(settings) as connection:
        recorded = connection.execute(
            "SELECT file_name, account, status FROM audit.upload WHERE file_name = ?", [corrected.name]
        ).fetchall()
        value = connection.execute(
            "SELECT numerator, denominator FROM kpi.indicator_value WHERE indicator_id = 'pharmacy_mssante_rate' "
            "AND territory_level = 'departement' AND territory_code = '72'"
        ).fetchall()
    assert recorded == [(corrected.name, "ars72", "accepted")]
    assert value == [(127, 156)]  # what the preview announced
    for path in taken:
        print(f"capture : {path}")
