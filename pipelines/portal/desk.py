"""The portal's work on a received file: the verdict, the comparison with the steward's previous file,
the impact on the published indicators; and what the pages read back (publication, freshness).

The file is validated by `validate_upload` (once per content, in a bounded child forked from a
server that has the parsing code loaded), where it was received: in the portal's private folder,
never in raw/ before the steward confirms. Its reports are written beside it there.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import duckdb

from pipelines.contract.discovery import discover_units, reference_data
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.problems import Problem, errors, total, warnings
from pipelines.foundation.settings import Settings
from pipelines.portal.store import Deposit, DepositStore, change_data, now, safe_name
from pipelines.validation.isolation import validate_upload
from pipelines.validation.ledger import Ledger
from pipelines.validation.parse import ParsedUpload
from pipelines.validation.reports import report_paths, verdict_label, write_rejection_report
from pipelines.warehouse.preview import preview_upload
from pipelines.warehouse.publication import processed_uploads, published_version, read_manifest

RECEPTION = ".reception"  # the file as it arrives, before its source is known


class Desk:
    """Everything the pages need, for one portal process (units and reference data loaded once)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.units: dict[str, SourceUnit] = {u.source_id: u for u in discover_units()}
        self.reference = reference_data(settings.reference_dir, settings.territory_code)
        self.store = DepositStore(settings.portal_dir)

    # --- verdict -------------------------------------------------------------------------------

    def judge(
        self,
        account: str,
        identifier: str,
        folder: Path,
        original_name: str,
        sha256: str,
        size: int,
        sources: list[str],
    ) -> Deposit:
        """The verdict on the file received in `folder` (RECEPTION), for the given source or, given several,
        for the one its headers match best; recorded and returned."""
        started = time.perf_counter()
        received = folder / RECEPTION
        name = with_suffix(safe_name(original_name), received)
        candidates = []
        for source_id in sources:
            path = folder / source_id / name
            path.parent.mkdir(exist_ok=True)
            try:
                os.link(received, path)  # each source's verdict writes its reports beside its own copy
            except OSError:  # a file system without hard links
                shutil.copyfile(received, path)
            unit = self.units[source_id]
            candidates.append(validate_upload(path, unit, self.reference, self.settings, sha256))
        upload = min(candidates, key=_fit)
        for other in candidates:
            if other is not upload:
                shutil.rmtree(other.path.parent, ignore_errors=True)
        received.unlink(missing_ok=True)
        unit = upload.unit
        deposit = Deposit(
            id=identifier,
            account=account,
            source_id=unit.source_id,
            original_name=original_name,
            file_name=name,
            sha256=sha256,
            size=size,
            received_at=now(),
            verdict=verdict_label(upload),
            accepted=upload.accepted,
            rows=upload.rows,
            period=upload.period.isoformat() if upload.period else None,
            errors=total(errors(upload.problems)),
            warnings=total(warnings(upload.problems)),
            problems=[asdict(p) for p in upload.problems],
            ignored_columns=list(upload.ignored_columns),
            guessed=len(sources) > 1,
        )
        if not upload.accepted:
            deposit.reports = self._reports(upload)
            upload.path.unlink(missing_ok=True)  # it can never be deposited: only its reports are kept
        previous = self.store.previous(deposit)
        if previous is not None:
            deposit.comparison = compare(previous, deposit)
        if upload.accepted:
            preview = preview_upload(self.settings, upload, self.reference)
            deposit.preview = {
                "changes": [change_data(c) for c in preview.changes],
                "published": preview.published,
                "already_loaded": preview.already_loaded,
                "note": preview.note,
            }
        deposit.verdict_seconds = round(time.perf_counter() - started, 3)
        self.store.save(deposit)
        return deposit

    def _reports(self, upload: ParsedUpload) -> dict:
        """The rejection report and annotated workbook beside the received file (the child wrote them,
        unless the verdict came from the ledger: then they are written here, within the same bounds)."""
        text_path, workbook_path = report_paths(upload.path)
        if not text_path.exists():
            known = Ledger(self.settings).verdict(upload.unit.source_id, upload.sha256)
            upload.sheet_cells = known.sheet_cells if known else 0
            write_rejection_report(upload, self.settings.limits)
        return {
            kind: path.name
            for kind, path in (("texte", text_path), ("classeur", workbook_path))
            if path.exists() and not path.is_symlink()
        }

    # --- publication ---------------------------------------------------------------------------

    def publication(self, deposit: Deposit, audit: bool = True) -> dict | None:
        """For a confirmed deposit: once a publication after it holds its content, the run, the time,
        and (with `audit`) what the warehouse recorded in audit.upload (status, account); else None."""
        if not deposit.confirmed:
            return None
        manifest = read_manifest(self.settings)
        if not manifest or (deposit.source_id, deposit.sha256) not in processed_uploads(self.settings):
            return None
        if (manifest.get("published_at") or "") < deposit.deposited_at:
            return None
        recorded = self._audit_row(deposit) if audit else None
        return {
            "run_id": manifest.get("run_id"),
            "published_at": manifest.get("published_at"),
            "status": recorded[0] if recorded else None,
            "account": recorded[1] if recorded else None,
            "file_name": recorded[2] if recorded else None,
        }

    def _published(self) -> duckdb.DuckDBPyConnection | None:
        version = published_version(self.settings)
        if version is None:
            return None
        try:
            return duckdb.connect(str(version), read_only=True)
        except duckdb.Error:
            return None

    def _audit_row(self, deposit: Deposit) -> tuple | None:
        connection = self._published()
        if connection is None:
            return None
        with connection:
            rows = connection.execute(
                "SELECT status, account, file_name FROM audit.upload WHERE source_id = ? AND sha256 = ?",
                [deposit.source_id, deposit.sha256],
            ).fetchall()
        return rows[0] if rows else None

    def freshness(self, sources: list[str], today: dt.date | None = None) -> list[dict]:
        """Per source: its label, the last accepted period in the published warehouse, its age, and
        whether it is recent enough for the source's cadence."""
        today = today or dt.date.today()
        latest: dict[str, dt.date] = {}
        connection = self._published()
        if connection is not None:
            with connection:
                latest = dict(
                    connection.execute(
                        "SELECT source_id, max(period) FROM audit.upload WHERE status = 'accepted' "
                        "AND period IS NOT NULL GROUP BY source_id"
                    ).fetchall()
                )
        facts = []
        for source_id in sources:
            unit = self.units.get(source_id)
            if unit is None:
                continue
            period = latest.get(source_id)
            age = (today - period).days if period else None
            facts.append(
                {
                    "source_id": source_id,
                    "label": unit.label,
                    "period_label": unit.period_label,
                    "period": period,
                    "age": age,
                    "fresh": age is not None and age <= unit.freshness_days,
                    "freshness_days": unit.freshness_days,
                }
            )
        return facts


def with_suffix(name: str, received: Path) -> str:
    """A name without any extension (an empty name, say) gets the one its content shows: a workbook
    is a zip archive, anything else is read as text."""
    _, dot, suffix = name.rpartition(".")
    if dot and suffix and " " not in suffix and len(suffix) <= 8:
        return name
    with received.open("rb") as handle:
        head = handle.read(4)
    return f"{name}.xlsx" if head == b"PK\x03\x04" else f"{name}.csv"


def _fit(upload: ParsedUpload) -> tuple:
    """How well a file fits a source: accepted first, then the fewest structure errors, then errors."""
    structure = [p for p in errors(upload.problems) if p.kind == "structure"]
    return (not upload.accepted, total(structure), total(errors(upload.problems)), upload.unit.source_id)


# --- comparison with the previous file -------------------------------------------------------------


def problem_key(problem: dict) -> tuple | None:
    """What makes a problem the same one in two versions of a file: its rule and its place (sheet, row,
    column, cell). A note about the whole file (rows left out of the checks, the period) or a line
    that only counts other rows ("… et 12 autres") has no place, and is not compared."""
    if problem.get("row") is None:
        return None
    return (problem.get("check"), problem.get("sheet"), problem.get("column"), problem.get("row"), problem.get("cell"))


def compare(previous: Deposit, current: Deposit) -> dict:
    """« 3 problèmes corrigés, 1 restant » (and the new ones) between two files of the same source."""
    before = {k for k in map(problem_key, previous.problems) if k is not None}
    after = {k for k in map(problem_key, current.problems) if k is not None}
    return {
        "previous_id": previous.id,
        "previous_name": previous.original_name,
        "previous_received_at": previous.received_at,
        "fixed": len(before - after),
        "remaining": len(before & after),
        "new": len(after - before),
    }


def comparison_text(comparison: dict) -> str:
    fixed, remaining, new = comparison["fixed"], comparison["remaining"], comparison["new"]
    parts = [
        f"{fixed} problème{'s' if fixed > 1 else ''} corrigé{'s' if fixed > 1 else ''}",
        f"{remaining} restant{'s' if remaining > 1 else ''}",
    ]
    if new:
        parts.append(f"{new} nouveau{'x' if new > 1 else ''}")
    return ", ".join(parts)


def problems_of(deposit: Deposit) -> list[Problem]:
    return [Problem(**p) for p in deposit.problems]
