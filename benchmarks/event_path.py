"""The event path through the real daemon: a steward's drop until it is published, and thirty drops at once.

    .venv/bin/python -m benchmarks.event_path [--instance sqlite] [--instance postgres] [--repeat 5]
                                              [--scenario un|trente|tous] [--work DIR] [--json FILE]

Each scenario starts `esante ui` (`dg dev`: the webserver and the daemon, as `make ui` does) on a temporary
instance, raw/ folder and warehouse, with the project's dagster.yaml; `--instance postgres` puts the
instance on a temporary PostgreSQL server (Debian's package, as in the tests: tests/postgres_server.py),
so the two instances are two lines of the same table.

1. One drop until published, median of `--repeat` (5): a pharmacy-survey wave is copied under a hidden
   name into raw/pharmacy_survey/ and renamed into place; the clock starts at the rename (the file is
   complete). It stops when the warehouse manifest (pipelines.warehouse.publication.processed_uploads)
   holds the upload's sha256 and the published kpi.indicator_value has values carrying it. A first,
   unmeasured drop loads the reference tables and warms the code servers (a warehouse in service).
2. Thirty drops at once (three sources, 5 invalid files, one content under two names): from the
   renames until settled (all 29 contents in the manifest, no run queued or in progress), then each
   upload processed exactly once (one validation run per content partition) and the indicators equal
   to those of `esante run` on the same files.

Beside each, `esante run` of the same files (in process, fresh warehouse, same kind of instance,
daemon stopped): the ratio daemon / in process. Where the time goes is read back from the instance:
sensor ticks, and for each run its enqueue, dequeue, launch, start and end (`--json` keeps them).
Targets on a 2-core machine: one drop published within 15 s, thirty settled within 3 min.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.foundation.files import file_sha256
from pipelines.foundation.settings import Settings, prepare_dagster_home
from pipelines.warehouse.publication import processed_uploads

BIN = Path(sys.executable).parent
SOURCES = ("pharmacy_survey", "care_registrations", "mes_statistics")
TARGETS = {"one": 15.0, "thirty": 180.0}
SENSOR = "raw_uploads"


# --- a temporary place: raw/, warehouse, instance -----------------------------------------------


@dataclass
class Place:
    root: Path
    settings: Settings
    environment: dict[str, str]

    @classmethod
    def make(cls, root: Path, pg_url: str | None) -> Place:
        variables = {"DAGSTER_HOME": str(root / "home"), "ESANTE_PORTAIL_DIR": str(root / "portail")}
        if pg_url:
            variables["ESANTE_DAGSTER_PG_URL"] = pg_url
        settings = Settings.from_environment(variables).with_paths(
            raw_dir=root / "raw", warehouse_path=root / "warehouse" / "esante.duckdb"
        )
        for source in SOURCES:
            (settings.raw_dir / source).mkdir(parents=True, exist_ok=True)
        # nothing of the caller's environment points elsewhere (a PostgreSQL URL, another home)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("ESANTE_", "DAGSTER_"))}
        return cls(root, settings, {**inherited, **prepare_dagster_home(settings)})

    def instance(self):
        """The place's instance, opened in this process as the daemon opens it (same environment)."""
        from dagster import DagsterInstance

        os.environ.clear()
        os.environ.update(self.environment)
        return DagsterInstance.from_config(str(self.settings.dagster_home))


class DagsterDev:
    """`esante ui` (`dg dev`, as `make ui` runs it) on 127.0.0.1, in its own process group."""

    def __init__(self, place: Place):
        self.place = place
        self.log = place.root / "dagster-dev.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> DagsterDev:
        from tests.postgres_server import free_port

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "esante"), "ui", "--port", str(free_port())],
                env=self.place.environment,
                cwd=self.place.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, instance, timeout: float = 300) -> float:
        """Until the upload sensor has ticked once (code location loaded, daemon running); seconds waited."""
        start = time.time()
        while time.time() - start < timeout:
            self.check_alive()
            if sensor_ticks(instance):
                return time.time() - start
            time.sleep(0.5)
        raise TimeoutError(f"le capteur {SENSOR} n'a pas démarré en {timeout:.0f} s : {self.tail()}")

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"esante ui s'est arrêté ({self.process.returncode}) : {self.tail()}")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # dagster dev stops its daemon, webserver, code servers
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with suppress(ProcessLookupError):  # anything of the group left behind (a run worker)
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()


# --- what the instance says -------------------------------------------------------------------


def sensor_ticks(instance, after: float | None = None) -> list:
    from dagster._core.scheduler.instigation import InstigatorType

    ticks = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == SENSOR:
            ticks += instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
    return sorted(ticks, key=lambda t: t.timestamp)


def busy(instance) -> bool:
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    return bool(instance.get_run_records(RunsFilter(statuses=statuses), limit=1))


def runs_since(instance, since: float) -> list[dict]:
    """Every run created after `since`, with the times of its life (epoch seconds) from its events."""
    from dagster import DagsterEventType, RunsFilter

    kinds = {
        DagsterEventType.RUN_ENQUEUED: "enqueued",
        DagsterEventType.RUN_DEQUEUED: "dequeued",
        DagsterEventType.RUN_STARTING: "starting",
        DagsterEventType.RUN_START: "started",
        DagsterEventType.RUN_SUCCESS: "ended",
        DagsterEventType.RUN_FAILURE: "ended",
    }
    records = instance.get_run_records(RunsFilter(created_after=dt.datetime.fromtimestamp(since, dt.UTC)))
    runs = []
    for record in records:
        run = record.dagster_run
        times = {}
        for entry in instance.all_logs(run.run_id, of_type=set(kinds)):
            times.setdefault(kinds[entry.dagster_event.event_type], entry.timestamp)
        runs.append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "partition": run.tags.get("dagster/partition"),
                "status": run.status.value,
                "created": record.create_timestamp.timestamp(),
                **times,
            }
        )
    return sorted(runs, key=lambda r: r["created"])


def phases(runs: list[dict], origin: float) -> dict:
    """Where the time went, in seconds: first run requested (sensor), queue, launch, work."""

    def total(a: str, b: str) -> float:
        return round(sum(r[b] - r[a] for r in runs if a in r and b in r), 2)

    return {
        "runs": len(runs),
        "first_run_requested_after": round(min((r["created"] for r in runs), default=origin) - origin, 2),
        "queued": total("enqueued", "starting"),  # in the run queue (dequeue interval, the writers' tag limit)
        "launch": total("starting", "started"),  # the run worker's process start and code load
        "work": total("started", "ended"),  # the run itself
    }


def tick_intervals(ticks: list) -> dict:
    """Seconds between consecutive ticks of the upload sensor (its interval is 5 s)."""
    gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(ticks)]
    if not gaps:
        return {}
    return {
        "ticks": len(ticks),
        "median_gap": round(statistics.median(gaps), 2),
        "max_gap": round(max(gaps), 2),
        "gaps_over_7s": sum(g > 7 for g in gaps),
    }


# --- drops ------------------------------------------------------------------------------------


def drop(files: list[tuple[Path, Path]]) -> float:
    """Copy each (file, target) to a hidden name beside its target, then rename them all into place:
    the time of the renames (the files are complete from then on)."""
    hidden = []
    for source, target in files:
        temporary = target.parent / f".{target.name}.copie"
        shutil.copyfile(source, temporary)  # a fresh modification time, as a steward's copy has
        hidden.append((temporary, target))
    start = time.time()
    for temporary, target in hidden:
        os.rename(temporary, target)
    return start


def published_with(settings: Settings, sha256: str) -> bool:
    """The published kpi holds values computed from this upload."""
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
            [(count,)] = connection.execute(
                "SELECT count(*) FROM kpi.indicator_value WHERE list_contains(upload_sha256, ?)", [sha256]
            ).fetchall()
    except (duckdb.Error, OSError):
        return False  # the link replaced while opening: look again
    return count > 0


def wait_published(settings: Settings, source: str, sha256: str, daemon: DagsterDev, timeout: float) -> float:
    start = time.time()
    while time.time() - start < timeout:
        if (source, sha256) in processed_uploads(settings) and published_with(settings, sha256):
            return time.time()
        daemon.check_alive()
        time.sleep(0.1)
    raise TimeoutError(f"{source}/{sha256[:12]} non publié en {timeout:.0f} s : {daemon.tail()}")


def wait_idle(instance, daemon: DagsterDev, timeout: float = 300) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if not busy(instance):
            return
        daemon.check_alive()
        time.sleep(0.5)
    raise TimeoutError(f"des exécutions tournent encore après {timeout:.0f} s")


def esante_run(place: Place, raw: Path, warehouse: Path) -> float:
    """`esante run` of a folder into a fresh warehouse, on the place's kind of instance: wall seconds."""
    log = place.root / "esante-run.log"
    start = time.time()
    with log.open("ab") as output:
        completed = subprocess.run(
            [str(BIN / "esante"), "run", "--raw", str(raw), "--warehouse", str(warehouse)],
            env=place.environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    seconds = time.time() - start
    if completed.returncode != 0:
        raise RuntimeError(f"esante run a échoué ({completed.returncode}) : {log.read_text()[-3000:]}")
    return seconds


def indicator_values(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


# --- the files ----------------------------------------------------------------------------------


def pharmacy_waves(folder: Path, count: int, first: dt.date = dt.date(2025, 1, 1)) -> list[Path]:
    """`count` survey waves of distinct months and contents (an extra unmeasured one first)."""
    from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies

    pharmacies = load_sarthe_pharmacies()
    folder.mkdir(parents=True, exist_ok=True)
    waves = []
    for index in range(count):
        month = dt.date(first.year + (first.month - 1 + index) // 12, (first.month - 1 + index) % 12 + 1, 1)
        respondents = pharmacies[index : index + 120]
        waves.append(
            build_pharmacy_wave(
                folder / f"{month:%Y-%m} enquete officines.xlsx",
                respondents,
                mssante_count=90 + index,
                fax_count=100 - index,
                wave=month,
                seed=100 + index,
            )
        )
    return waves


# --- the two scenarios ------------------------------------------------------------------------


@dataclass
class Outcome:
    instance: str
    scenario: str
    daemon_seconds: list[float]
    in_process_seconds: float
    checks: dict = field(default_factory=dict)
    profile: list[dict] = field(default_factory=list)

    @property
    def daemon(self) -> float:
        return statistics.median(self.daemon_seconds)


def one_drop(work: Path, urls: dict[str, str | None], repeat: int) -> list[Outcome]:
    """Every instance's daemon runs at once; the drops alternate between them (sqlite, postgres,
    sqlite…), so that both instances meet the same load of a shared machine."""
    staging = work / "vagues"
    waves = pharmacy_waves(staging, repeat + 1)
    places = {kind: Place.make(work / f"un-{kind}", url) for kind, url in urls.items()}
    seconds: dict[str, list[float]] = {kind: [] for kind in places}
    profile: dict[str, list[dict]] = {kind: [] for kind in places}
    checks: dict[str, dict] = {}
    with ExitStack() as stack:
        instances, daemons = {}, {}
        for kind, place in places.items():
            instances[kind] = stack.enter_context(place.instance())
            daemons[kind] = stack.enter_context(DagsterDev(place))
        for kind in places:
            checks[kind] = {"sensor_ready_after": round(daemons[kind].wait_ready(instances[kind]), 1)}
        for index, wave in enumerate(waves):
            for kind, place in places.items():
                instance, daemon = instances[kind], daemons[kind]
                sha256 = file_sha256(wave)
                before = time.time()
                start = drop([(wave, place.settings.raw_dir / "pharmacy_survey" / wave.name)])
                done = wait_published(place.settings, "pharmacy_survey", sha256, daemon, timeout=600)
                wait_idle(instance, daemon)
                runs = runs_since(instance, before)
                ticks = [t.timestamp - start for t in sensor_ticks(instance, after=start - 10)]
                profile[kind].append(
                    {
                        "file": wave.name,
                        "published_after": round(done - start, 2),
                        "measured": index > 0,
                        "load_average": os.getloadavg()[0],
                        **phases(runs, start),
                        "sensor_ticks_after_drop": [round(t, 1) for t in ticks[:8]],
                        "run_detail": [
                            {k: (round(v - start, 2) if isinstance(v, float) else v) for k, v in r.items()}
                            for r in runs
                        ],
                    }
                )
                if index > 0:  # the first drop loads the reference tables: not measured
                    seconds[kind].append(done - start)
                print(f"  [{kind}] dépôt {wave.name} publié en {done - start:.1f} s", file=sys.stderr)
        for kind in places:
            checks[kind].update(tick_intervals(sensor_ticks(instances[kind])))
    # in process, daemons stopped: the same work for one wave (a raw/ holding that file only), alternated
    in_process: dict[str, list[float]] = {kind: [] for kind in places}
    for n in range(3):
        for kind, place in places.items():
            single = place.root / "seul" / "pharmacy_survey"
            if not single.exists():
                single.mkdir(parents=True)
                shutil.copy2(waves[1], single)
            in_process[kind].append(esante_run(place, single.parent, place.root / f"seul-{n}" / "esante.duckdb"))
    return [
        Outcome(
            kind,
            "un dépôt",
            seconds[kind],
            statistics.median(in_process[kind]),
            {**checks[kind], "load_average_after": os.getloadavg()},
            profile[kind],
        )
        for kind in places
    ]


def thirty_drops(work: Path, kind: str, pg) -> Outcome:
    place = Place.make(work / f"trente-{kind}", pg.create_database("trente") if pg else None)
    staging = place.root / "fichiers"
    from tests.load_mix import thirty_files

    files, _ = thirty_files(staging)
    contents = {(f.parent.name, file_sha256(f)) for f in files}
    with place.instance() as instance, DagsterDev(place) as daemon:
        daemon.wait_ready(instance)
        start = drop([(f, place.settings.raw_dir / f.relative_to(staging)) for f in files])
        deadline = start + 900
        while time.time() < deadline:
            if contents <= processed_uploads(place.settings) and not busy(instance):
                break
            daemon.check_alive()
            time.sleep(0.5)
        else:
            raise TimeoutError(f"30 dépôts non réglés en 900 s : {daemon.tail()}")
        settled = time.time()
        time.sleep(20)  # four more sensor ticks: nothing more may come
        runs = runs_since(instance, start - 1)
        intervals = tick_intervals(sensor_ticks(instance, after=start - 10))
    validations = [r for r in runs if r["job"].startswith("validate_")]
    partitions = [r["partition"] for r in validations]
    refreshes = [r for r in runs if r["job"].startswith("refresh_")]
    with duckdb.connect(str(place.settings.warehouse_path), read_only=True) as connection:
        statuses = dict(connection.execute("SELECT status, count(*) FROM audit.upload GROUP BY ALL").fetchall())
    reference = place.root / "en-processus" / "esante.duckdb"
    in_process = esante_run(place, staging, reference)
    checks = {
        "contents": len(contents),
        "validation_runs": len(validations),
        "exactly_once": len(partitions) == len(set(partitions)) == len(contents),
        "refresh_runs": len(refreshes),
        "refresh_failures": sum(r["status"] != "SUCCESS" for r in refreshes),
        "validation_failures": sum(r["status"] != "SUCCESS" for r in validations),  # the rejected files
        "upload_statuses": statuses,
        "same_indicators_as_esante_run": indicator_values(place.settings.warehouse_path) == indicator_values(reference),
        **intervals,
        "load_average_after": os.getloadavg(),  # the machine is shared: how busy it was
    }
    profile = [{**phases(runs, start), "runs_detail": runs}]
    return Outcome(kind, "30 dépôts", [settled - start], in_process, checks, profile)


# --- the table --------------------------------------------------------------------------------


def french(seconds: float) -> str:
    return f"{seconds:.1f}".replace(".", ",") + " s"


def table(outcomes: list[Outcome]) -> str:
    header = (
        "| Instance | Cas | Démon (médiane) | Cible | `esante run` mêmes fichiers | Démon / en processus | Contrôles |\n"
        "|---|---|---:|---:|---:|---:|---|"
    )
    lines = [header]
    for o in outcomes:
        target = TARGETS["one" if o.scenario == "un dépôt" else "thirty"]
        met = "tenue" if o.daemon <= target else "manquée"
        if o.scenario == "un dépôt":
            checks = "valeurs : " + ", ".join(french(s) for s in o.daemon_seconds)
        else:
            c = o.checks
            checks = (
                f"{c['validation_runs']} contrôles pour {c['contents']} contenus"
                f" ({'une fois chacun' if c['exactly_once'] else 'PAS une fois chacun'}), "
                f"{c['refresh_runs']} rechargements ({c['refresh_failures']} en échec), "
                f"indicateurs {'identiques' if c['same_indicators_as_esante_run'] else 'DIFFÉRENTS'}"
            )
        ratio = f"{o.daemon / o.in_process_seconds:.1f}".replace(".", ",")
        lines.append(
            f"| {o.instance} | {o.scenario} | {french(o.daemon)} | {french(target)} ({met}) | "
            f"{french(o.in_process_seconds)} | {ratio} | {checks} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.event_path", description=__doc__.splitlines()[0])
    parser.add_argument("--instance", action="append", choices=("sqlite", "postgres"))
    parser.add_argument("--scenario", choices=("un", "trente", "tous"), default="tous")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, help="dossier de travail (défaut : temporaire, supprimé)")
    parser.add_argument("--json", type=Path, help="écrit les mesures détaillées (phases de chaque exécution)")
    args = parser.parse_args(argv)
    kinds = args.instance or ["sqlite"]
    outcomes = []
    with ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="esante-event-path-")))
        work.mkdir(parents=True, exist_ok=True)
        pg = None
        if "postgres" in kinds:
            from tests.postgres_server import TemporaryPostgres

            pg = stack.enter_context(TemporaryPostgres(durable=True))  # a real server's settings (fsync)
        if args.scenario in ("un", "tous"):
            urls = {kind: pg.create_database("un") if kind == "postgres" else None for kind in kinds}
            outcomes += one_drop(work, urls, args.repeat)
        if args.scenario in ("trente", "tous"):
            for kind in kinds:  # one at a time: thirty drops load the machine
                outcomes.append(thirty_drops(work, kind, pg if kind == "postgres" else None))
        outcomes.sort(key=lambda o: (kinds.index(o.instance), o.scenario != "un dépôt"))
    print(table(outcomes))
    load = ", ".join(f"{x:.1f}".replace(".", ",") for x in os.getloadavg())
    print(f"Charge de la machine (1, 5, 15 min) à la fin : {load} ; {os.cpu_count()} cœurs.")
    if args.json:
        args.json.write_text(
            json.dumps([o.__dict__ for o in outcomes], indent=1, default=str, ensure_ascii=False), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
