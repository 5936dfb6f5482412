"""The verdict time of the portal on the June 2024 sample wave, against a bare `esante validate` of the
same file in the same run.

    .venv/bin/python -m benchmarks.portal_verdict [--repeat 5] [--work DIR]

Set-up (not timed): a warehouse published by the real pipeline from the other sources' samples (the
June wave is not in it yet, as before its first deposit: the impact preview computes every value),
an account made with `esante utilisateur ajouter`, and the real `esante portail` listening on a free
port of 127.0.0.1. Then, as a browser would, each repetition posts the file to /depots and reads the
verdict page it is sent to: the time is from the first byte sent to the last byte of the page
(validation in the bounded child, reports, comparison, impact preview, page). Before each repetition
the file's entry of the validation ledger is removed, so that the file is really validated (a file
sent again is answered from the ledger: measured apart, as "renvoi"). Target: 1 s or less.

The yardstick is `esante validate FILE --source pharmacy_survey`, what a steward could run instead:
a new process each time (imports, reference files, parsing). Medians; one JSON line, then French.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ESANTE = str(Path(sys.executable).parent / "esante")
PASSWORD = "mot de passe du banc d'essai"
JUNE = "2024-06 enquete officines.xlsx"
TARGET_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(work: Path):
    """Settings under `work`, the June wave written by its unit, a warehouse published without it."""
    from pipelines.contract.discovery import discover_units
    from pipelines.foundation.settings import Settings
    from pipelines.orchestration.runs import rebuild

    settings = Settings.from_environment(
        {"DAGSTER_HOME": str(work / "dagster_home"), "ESANTE_PORTAIL_DIR": str(work / "portail")}
    ).with_paths(raw_dir=work / "raw", warehouse_path=work / "warehouse" / "esante.duckdb")
    samples = work / "echantillons"
    for unit in discover_units():
        folder = (samples if unit.source_id == "pharmacy_survey" else settings.raw_dir) / unit.source_id
        folder.mkdir(parents=True, exist_ok=True)
        unit.write_samples(folder)
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral() as instance:
        outcome = rebuild(settings, instance)
    if not outcome.published:
        raise SystemExit(f"entrepôt non publié : {outcome.failures}")
    return settings, samples / "pharmacy_survey" / JUNE


def start_portal(settings, work: Path) -> tuple[subprocess.Popen, str]:
    environment = {**os.environ, **settings.as_environment()}
    subprocess.run(
        [ESANTE, "utilisateur", "ajouter", "banc", "--sources", "pharmacy_survey"],
        input=PASSWORD + "\n",
        text=True,
        env=environment,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (work / "portail.log").open("w")
    process = subprocess.Popen(
        [ESANTE, "portail", "--port", str(port)], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/connexion", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("le portail n'a pas démarré (voir portail.log)")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def verdict(client: httpx.Client, csrf: str, path: Path) -> tuple[float, float, str, int]:
    """(seconds from request to verdict page, seconds the portal itself reports, the verdict, the number of
    indicator values its impact preview lists)."""
    content = path.read_bytes()
    started = time.perf_counter()
    response = client.post(
        "/depots",
        data={"csrf": csrf, "source": "pharmacy_survey"},
        files={"fichier": (path.name, content)},
        follow_redirects=True,
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    found = re.search(r'id="verdict">([^<]+)<', response.text)
    server = re.search(r"verdict rendu en ([\d,]+) s", response.text)
    changes = re.search(r"une fois publié \((\d+) valeur", response.text)
    if not found or not server or not changes:
        raise SystemExit("la page du verdict n'a pas la forme attendue (verdict, durée, impact)")
    return elapsed, float(server.group(1).replace(",", ".")), found.group(1), int(changes.group(1))


def forget(settings, sha256: str) -> None:
    """The file's entry of the validation ledger (derived data, deletable at any time)."""
    for entry in (settings.ledger_dir / "pharmacy_survey").glob(f"{sha256}.*"):
        entry.unlink()


def bare_validate(settings, path: Path) -> float:
    environment = {**os.environ, **settings.as_environment()}
    started = time.perf_counter()
    result = subprocess.run(
        [ESANTE, "validate", str(path), "--source", "pharmacy_survey"], env=environment, capture_output=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"esante validate a échoué : {result.stdout.decode()} {result.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, help="dossier de travail (défaut : un dossier temporaire, supprimé)")
    arguments = parser.parse_args()
    work = arguments.work or Path(tempfile.mkdtemp(prefix="esante-portail-banc-"))
    work.mkdir(parents=True, exist_ok=True)
    from pipelines.foundation.files import file_sha256
    from pipelines.foundation.french import format_decimal

    settings, june = prepare(work)
    sha256 = file_sha256(june)
    process, url = start_portal(settings, work)
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            page = client.get("/connexion")
            client.post(
                "/connexion", data={"csrf": csrf_of(page.text), "identifiant": "banc", "mot_de_passe": PASSWORD}
            )
            csrf = csrf_of(client.get("/").text)
            forget(settings, sha256)
            verdict(client, csrf, june)  # untimed: the first request of the process
            fresh, reported, label, changes = [], [], "", 0
            for _ in range(arguments.repeat):
                forget(settings, sha256)
                elapsed, server, label, changes = verdict(client, csrf, june)
                fresh.append(elapsed)
                reported.append(server)
            again = [verdict(client, csrf, june)[0] for _ in range(arguments.repeat)]
        bare = [bare_validate(settings, june) for _ in range(arguments.repeat)]
    finally:
        process.terminate()
        process.wait(timeout=30)
        if arguments.work is None:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "portal_verdict",
        "file": JUNE,
        "verdict": label,
        "impact_values": changes,
        "repeat": arguments.repeat,
        "portal_seconds": round(statistics.median(fresh), 3),
        "portal_server_seconds": round(statistics.median(reported), 3),
        "portal_resent_seconds": round(statistics.median(again), 3),
        "validate_seconds": round(statistics.median(bare), 3),
        "ratio_portal_to_validate": round(statistics.median(fresh) / statistics.median(bare), 3),
        "target_seconds": TARGET_SECONDS,
        "target_met": statistics.median(fresh) <= TARGET_SECONDS,
    }
    print(json.dumps(result, ensure_ascii=False))
    seconds = {k: format_decimal(v, 2) for k, v in result.items() if isinstance(v, float)}
    print(
        f"Verdict du portail sur « {JUNE} » ({label}, impact : {changes} valeurs) : {seconds['portal_seconds']} s en "
        f"médiane de la requête à la page (dont {seconds['portal_server_seconds']} s dans le portail ; "
        f"{seconds['portal_resent_seconds']} s pour un fichier renvoyé) ; `esante validate` du même fichier : "
        f"{seconds['validate_seconds']} s ; rapport portail / validate : {seconds['ratio_portal_to_validate']} ; "
        f"cible ≤ 1 s : " + ("atteinte." if result["target_met"] else "NON atteinte.")
    )


if __name__ == "__main__":
    main()
