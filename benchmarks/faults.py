"""Faults, measured: runs killed at random moments and the plain run that follows, and a 200 MB upload of
garbage (time and peak memory of the whole process tree).

    .venv/bin/python -m benchmarks.faults [--kills 10] [--work /tmp/esante-faults]

Prints, in French: how many of the killed runs were followed by a successful plain `esante run` with
no manual step, the median and worst time of those recovering runs (beside a run with nothing to
recover, in the same process of measure), and for the garbage file the verdict, its time and the peak
resident memory of `esante validate` and its children.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ESANTE = str(Path(sys.executable).parent / "esante")


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    resident: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        resident[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += resident.get(pid, 0)
        stack += children.get(pid, [])
    return total


def timed(command: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess]:
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    return time.perf_counter() - start, peak, subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "esante-faults")
    arguments = parser.parse_args()
    from pipelines.cli.docs import write_samples
    from pipelines.foundation.settings import Settings

    work = arguments.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    settings = Settings.from_environment({"DAGSTER_HOME": str(work / "home")}).with_paths(
        raw_dir=work / "raw", warehouse_path=work / "warehouse" / "esante.duckdb"
    )
    write_samples(settings.raw_dir)
    env = {**os.environ, **settings.as_environment()}
    plain, _, first = timed([ESANTE, "run"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    plain, _, _ = timed([ESANTE, "run"], env)

    randomly = random.Random(2026)
    recovered, times, noticed = 0, [], 0
    for _ in range(arguments.kills):
        run = subprocess.Popen([ESANTE, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(randomly.uniform(0.2, plain))
        run.send_signal(signal.SIGKILL)
        run.wait()
        seconds, _, after = timed([ESANTE, "run"], env)
        recovered += after.returncode == 0 and "✔ Entrepôt publié" in after.stdout
        noticed += "s'est arrêtée sans finir" in after.stdout
        times.append(seconds)
    print(
        f"Exécutions tuées (SIGKILL à un moment tiré au hasard) : {arguments.kills} ; suivies d'un esante run "
        f"réussi sans intervention : {recovered} sur {arguments.kills} ({noticed} exécution(s) interrompue(s) "
        "signalée(s) et marquée(s) en échec)."
    )
    print(
        f"Temps de l'esante run qui suit : médiane {statistics.median(times):.1f} s, pire {max(times):.1f} s "
        f"(esante run sans rien à réparer : {plain:.1f} s)."
    )

    garbage = work / "garbage" / "mes_statistics" / "MES national.csv"
    garbage.parent.mkdir(parents=True)
    import numpy as np

    noise = np.random.default_rng(42).integers(0, 256, size=200 * 1024**2, dtype=np.uint8)
    text = (32 + noise % 95).astype(np.uint8)
    text[noise < 3] = ord("\n")
    header = "Mois;Niveau;Code territoire;Libellé;Population;Profils ouverts;Profils alimentés;Documents ajoutés\n"
    garbage.write_bytes(header.encode() + text.tobytes())
    seconds, peak, result = timed([ESANTE, "validate", str(garbage)], env)
    verdict = next((line for line in result.stdout.splitlines() if line.startswith(("✘", "✔"))), result.stdout[:200])
    print(
        f"Fichier de 200 Mo de texte aléatoire sous un en-tête MES valide : {verdict} en {seconds:.1f} s, "
        f"mémoire résidente au plus {peak / 1024**2:.0f} Mio (esante validate et ses processus enfants)."
    )


if __name__ == "__main__":
    main()
