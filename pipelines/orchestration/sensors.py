"""The sensor that turns a steward's drop into runs, without anyone touching anything.

A file is taken once it is complete: untouched for a few seconds when first seen, or unchanged
between two looks (a second look a few seconds later in the same tick, so that a fresh drop does not
wait for the next one). It is identified by its content: the same content again, under any name, counts
once; a changed file under the same name is a new upload. The sensor never parses a file; it only
hashes new or changed ones. For each new upload:
- a validation run of its partition of `raw/<source>_upload` (the file checked once, its verdict kept
  in the ledger, its report written if it is rejected; a rejected file's run fails, in red);
- one refresh of its source (staging, indicators, publication), coalesced: while a refresh of that
  source waits in the queue, new drops join it instead of queuing their own. A monthly source's
  refresh waits for the verdicts of its new files, which say which months to recompute.
Uploads the published warehouse already holds (after `esante run`, or the nightly rebuild) are
known from its manifest and never processed again.
"""

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.settings import Settings
from pipelines.orchestration.keys import (
    FILES_TAG,
    SOURCE_TAG,
    refresh_job_name,
    upload_partitions,
    validation_job_name,
)
from pipelines.orchestration.requests import month_range_tags, refresh_selection
from pipelines.validation.ledger import Ledger
from pipelines.validation.uploads import partition_key, scan_folder
from pipelines.warehouse.publication import processed_uploads

# The daemon's loop paces the sensor (every 5 s, a floor in Dagster itself). A minimum interval of 5 s
# would skip every other loop: the time between two loops comes out just under 5 s.
MINIMUM_INTERVAL_SECONDS = 1
SETTLED_SECONDS = 3  # a file untouched this long when first seen is complete
PENDING_GIVE_UP_SECONDS = 600  # a validation that never reports (its run died): refresh anyway


@dataclass
class UploadScan:
    """What one look at raw/ found, and the cursor for the next look."""

    new: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)  # source -> [(path, sha256)]
    waiting: list[str] = field(default_factory=list)  # files still changing
    cursor: dict = field(default_factory=dict)


def scan_uploads(
    raw_dir: Path, source_ids: list[str], previous: dict, processed: set[tuple[str, str]], now: float | None = None
) -> UploadScan:
    """Plain function (no Dagster): compare this look with the previous one. A file is hashed only when
    it is new or changed; content already known (or already in the published warehouse) is skipped."""
    now = time.time() if now is None else now
    seen_before: dict[str, list] = previous.get("seen", {})
    known: dict[str, list[str]] = {k: list(v) for k, v in previous.get("known", {}).items()}
    scan = UploadScan()
    seen_now: dict[str, list] = {}
    for source_id in source_ids:
        known_here = set(known.setdefault(source_id, []))
        for path in scan_folder(raw_dir / source_id)[0]:
            stat = path.lstat()
            name = f"{source_id}/{path.name}"
            signature = [stat.st_size, stat.st_mtime_ns]
            before = seen_before.get(name)
            if before and before[:2] == signature and len(before) == 3:
                seen_now[name] = before  # unchanged and already hashed
                continue
            if before != signature and now - stat.st_mtime < SETTLED_SECONDS:
                seen_now[name] = signature
                scan.waiting.append(name)  # new or still being written: look again next time
                continue
            try:
                sha256 = file_sha256(path)
            except OSError:
                continue  # replaced between the listing and the read: next look
            seen_now[name] = [*signature, sha256]
            if sha256 in known_here:
                continue
            known_here.add(sha256)
            known[source_id].append(sha256)
            if (source_id, sha256) in processed:
                continue  # already in the published warehouse
            scan.new.setdefault(source_id, []).append((path, sha256))
    scan.cursor = {"seen": seen_now, "known": known, "pending": previous.get("pending", {})}
    return scan


def settled_scan(raw_dir: Path, source_ids: list[str], previous: dict, processed: set[tuple[str, str]]) -> UploadScan:
    """A look at raw/, and when a file is too fresh to be taken, a second look once it has had time to
    settle, within the same tick: the next tick is 5 to 10 s away, a steward waits for their verdict."""
    scan = scan_uploads(raw_dir, source_ids, previous, processed)
    if not scan.waiting:
        return scan
    time.sleep(SETTLED_SECONDS)
    again = scan_uploads(raw_dir, source_ids, scan.cursor, processed)
    for source_id, uploads in scan.new.items():
        again.new.setdefault(source_id, [])[:0] = uploads
    return again


WAITING = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]
IN_PROGRESS = [*WAITING, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
# An upload still not published once the refresh asked for it has ended (failed, or killed and failed by
# run monitoring) is asked again; a request is in the queue by the next tick, hence a short grace.
RETRY_GRACE_SECONDS = 15
MAX_ATTEMPTS = 3


def refreshes(instance, unit: SourceUnit, statuses) -> bool:
    return bool(instance.get_run_records(RunsFilter(job_name=refresh_job_name(unit), statuses=statuses), limit=1))


def build_upload_sensor(
    units: list[SourceUnit], settings_of, jobs: list, reference_keys: list[AssetKey], reference_fingerprint
):
    by_id = {u.source_id: u for u in units}

    @sensor(
        name="raw_uploads",
        jobs=jobs,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Surveille raw/<source>/ : chaque nouveau fichier (complet, par contenu) est contrôlé une "
        "fois, puis sa source est rechargée et l'entrepôt publié (les dépôts rapprochés sont regroupés ; un "
        "dépôt dont la publication a échoué est repris).",
    )
    def raw_uploads(context: SensorEvaluationContext):
        settings: Settings = settings_of()
        previous = json.loads(context.cursor) if context.cursor else {}
        processed = processed_uploads(settings)
        scan = settled_scan(settings.raw_dir, list(by_id), previous, processed)
        # source -> sha -> {"since": first seen, "asked": last refresh request (0: never), "attempts": n}
        unpublished: dict[str, dict[str, dict]] = scan.cursor.pop("pending", {}) or {}
        now = time.time()
        run_requests, partition_requests = [], []
        for source_id, uploads in scan.new.items():
            unit = by_id[source_id]
            keys = [partition_key(path.name, sha256) for path, sha256 in uploads]
            partition_requests.append(upload_partitions(unit).build_add_request(keys))
            run_requests += [
                RunRequest(
                    run_key=f"upload:{source_id}:{sha256}",
                    job_name=validation_job_name(unit),
                    partition_key=key,
                    tags={SOURCE_TAG: source_id},
                )
                for key, (_, sha256) in zip(keys, uploads)
            ]
            for _, sha256 in uploads:
                unpublished.setdefault(source_id, {})[sha256] = {"since": now, "asked": 0, "attempts": 0}
        ledger = Ledger(settings)
        with_reference = reference_fingerprint(settings) != (_published_reference(settings) or "")
        for source_id in list(unpublished):
            unit = by_id.get(source_id)
            waiting = {
                sha: state
                for sha, state in unpublished[source_id].items()
                if (source_id, sha) not in processed and state["attempts"] < MAX_ATTEMPTS
            }
            if unit is None or not waiting:
                unpublished.pop(source_id)
                continue
            unpublished[source_id] = waiting
            due = {sha: st for sha, st in waiting.items() if not st["asked"] or now - st["asked"] > RETRY_GRACE_SECONDS}
            if not due:
                continue
            asked_before = any(st["asked"] for st in due.values())
            if asked_before and refreshes(context.instance, unit, IN_PROGRESS):
                continue  # the refresh asked for is queued or running: its end tells
            verdicts = {sha: ledger.verdict(source_id, sha) for sha in due}
            if unit.monthly and any(
                v is None and now - due[sha]["since"] < PENDING_GIVE_UP_SECONDS for sha, v in verdicts.items()
            ):
                continue  # the months to recompute are known once every new file is validated
            if not asked_before and not unit.monthly and refreshes(context.instance, unit, WAITING):
                for state in due.values():  # a waiting refresh reads raw/ when it starts: they join it
                    state["asked"] = now
                continue
            months = sorted({m for v in verdicts.values() if v and v.accepted for m in v.months})
            names = ", ".join(v.file_name for v in verdicts.values() if v) or f"{len(due)} fichier(s)"
            tags, with_indicators = month_range_tags(unit, months, settings)
            batch = hashlib.sha256(("".join(sorted(due)) + str(now)).encode()).hexdigest()[:16]
            run_requests.append(
                RunRequest(
                    run_key=f"refresh:{source_id}:{batch}",
                    job_name=refresh_job_name(unit),
                    tags={**tags, SOURCE_TAG: source_id, FILES_TAG: names[:200]},
                    asset_selection=refresh_selection(unit, with_indicators, reference_keys if with_reference else []),
                )
            )
            for state in due.values():
                state["asked"], state["attempts"] = now, state["attempts"] + 1
        scan.cursor["pending"] = unpublished
        cursor = json.dumps(scan.cursor)
        if not run_requests:
            context.update_cursor(cursor)
            waiting = f" ; en attente de fin de copie : {', '.join(scan.waiting)}" if scan.waiting else ""
            return SkipReason(f"Aucun nouveau fichier{waiting}.")
        return SensorResult(run_requests=run_requests, dynamic_partitions_requests=partition_requests, cursor=cursor)

    return raw_uploads


def _published_reference(settings: Settings) -> str | None:
    from pipelines.warehouse.publication import read_manifest

    manifest = read_manifest(settings)
    return manifest.get("reference") if manifest else None
