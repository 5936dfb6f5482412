"""The sensor that turns a steward's drop into runs, without anyone touching anything.

A file is taken once its size and modification time are the same on two looks (it is no longer
being copied). It is identified by its content: the same content again, under any name, counts
once; a changed file under the same name is a new upload. Each new upload becomes a partition of
`upload/<source>` (validated, and reported on if rejected) and one run per source refreshes its
staging, indicators and the published warehouse; for a monthly source, that run recomputes only
the month partitions the new files touch (pipelines/months.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from pipelines.months import range_tags, raw_month_range
from pipelines.settings import Settings
from pipelines.source import SourceUnit
from pipelines.source_assets import REFERENCE_KEYS, kpi_key, staging_key
from pipelines.uploads import list_uploads, partition_key, upload_partitions
from pipelines.validation import file_sha256


@dataclass
class UploadScan:
    """What one look at raw/ found, and the cursor for the next look."""

    new: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)  # source -> [(path, sha256)]
    waiting: list[str] = field(default_factory=list)  # files still changing
    cursor: dict = field(default_factory=dict)


def scan_uploads(raw_dir: Path, source_ids: list[str], previous: dict) -> UploadScan:
    """Plain function (no Dagster): compare this look with the previous one."""
    seen_before: dict[str, list[int]] = previous.get("seen", {})
    known: dict[str, list[str]] = {k: list(v) for k, v in previous.get("known", {}).items()}
    scan = UploadScan()
    seen_now: dict[str, list[int]] = {}
    for source_id in source_ids:
        for path in list_uploads(raw_dir / source_id):
            stat = path.stat()
            name = f"{source_id}/{path.name}"
            signature = [stat.st_size, stat.st_mtime_ns]
            seen_now[name] = signature
            if seen_before.get(name) != signature:
                scan.waiting.append(name)  # new or still being written: look again next time
                continue
            sha256 = file_sha256(path)
            if sha256 in known.setdefault(source_id, []):
                continue
            known[source_id].append(sha256)
            scan.new.setdefault(source_id, []).append((path, sha256))
    scan.cursor = {"seen": seen_now, "known": known}
    return scan


def refresh_job_name(unit: SourceUnit) -> str:
    return f"refresh_{unit.source_id}"


def upload_job_name(unit: SourceUnit) -> str:
    return f"validate_{unit.source_id}_upload"


def refresh_keys(unit: SourceUnit, shared_keys: list[AssetKey], with_indicators: bool = True) -> list[AssetKey]:
    """What a refresh materializes; references are cheap to reload and make it work on an empty warehouse."""
    return [*REFERENCE_KEYS, staging_key(unit), *([kpi_key(unit)] if with_indicators else []), *shared_keys]


def refresh_request(unit: SourceUnit, settings: Settings, new_files: list[Path], shared_keys: list[AssetKey],
                    run_key: str | None = None, tags: dict[str, str] | None = None) -> RunRequest:
    """Refresh a source; for a monthly one, only the months the new files touch (and the months after
    them whose indicator window includes them). Files with no readable month refresh staging only
    (their rejection is recorded) and publish."""
    tags, selection = dict(tags or {}), None
    if unit.monthly is not None:
        months = raw_month_range(unit, settings, new_files)
        if months:
            tags.update(range_tags(months))
        else:
            selection = refresh_keys(unit, shared_keys, with_indicators=False)
    return RunRequest(job_name=refresh_job_name(unit), run_key=run_key, tags=tags, asset_selection=selection)


def build_upload_jobs(units: list[SourceUnit], shared_keys: list[AssetKey]) -> list:
    jobs = []
    for unit in units:
        jobs.append(define_asset_job(
            upload_job_name(unit),
            selection=AssetSelection.assets(["upload", unit.source_id]),
            partitions_def=upload_partitions(unit),
            description=f"Contrôle d'un fichier déposé dans raw/{unit.source_id}/ (une partition par fichier).",
        ))
        jobs.append(define_asset_job(
            refresh_job_name(unit),
            selection=AssetSelection.assets(*refresh_keys(unit, shared_keys)),
            description=f"Recharge « {unit.label} », recalcule ses indicateurs et publie l'entrepôt.",
        ))
    return jobs


def build_upload_sensor(units: list[SourceUnit], settings_of, jobs: list, shared_keys: list[AssetKey]):
    @sensor(
        name="raw_uploads",
        jobs=jobs,
        minimum_interval_seconds=15,
        default_status=DefaultSensorStatus.RUNNING,
        description="Surveille raw/<source>/ : chaque nouveau fichier (stable, par contenu) est contrôlé "
        "puis chargé ; les indicateurs et l'entrepôt publié sont mis à jour.",
    )
    def raw_uploads(context: SensorEvaluationContext):
        settings: Settings = settings_of()
        previous = json.loads(context.cursor) if context.cursor else {}
        scan = scan_uploads(settings.raw_dir, [u.source_id for u in units], previous)
        if not scan.new:
            context.update_cursor(json.dumps(scan.cursor))
            waiting = f" ; en attente de stabilité : {', '.join(scan.waiting)}" if scan.waiting else ""
            return SkipReason(f"Aucun nouveau fichier{waiting}.")
        run_requests, partition_requests = [], []
        by_id = {u.source_id: u for u in units}
        for source_id, uploads in scan.new.items():
            unit = by_id[source_id]
            keys = [partition_key(path.name, sha256) for path, sha256 in uploads]
            partition_requests.append(upload_partitions(unit).build_add_request(keys))
            run_requests += [
                RunRequest(run_key=f"upload:{source_id}:{sha256}", job_name=upload_job_name(unit), partition_key=key)
                for key, (_, sha256) in zip(keys, uploads)
            ]
            batch = hashlib.sha256("".join(sorted(s for _, s in uploads)).encode()).hexdigest()[:16]
            run_requests.append(refresh_request(
                unit, settings, [path for path, _ in uploads], shared_keys,
                run_key=f"refresh:{source_id}:{batch}",
                tags={"esante/fichiers": ", ".join(p.name for p, _ in uploads)[:200]},
            ))
        return SensorResult(
            run_requests=run_requests, dynamic_partitions_requests=partition_requests, cursor=json.dumps(scan.cursor)
        )

    return raw_uploads
