"""The ledger of validated uploads: each upload is parsed and validated once, by content.

An entry is the verdict on one content (sha256) for one source, under one version of the rules:
its problems, its period and months, and for an accepted file the validated rows (Parquet). The
per-upload validation run, the refresh that loads the file, `esante run`, the nightly rebuild
and the portal all read the same entry instead of parsing the file again. The ledger lives in
the pipeline's private area (warehouse/.build/uploads/): it is derived from raw/ and can be
deleted at any time (everything is then validated again).

The rules' version (`rules_fingerprint`) covers the validation code, the unit's code, the
reference files, the territory, the limits and the current month (rules about dates in the
future depend on it): when any of them changes, uploads are validated again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import atomic_path, write_atomically
from pipelines.foundation.problems import Problem, from_dicts
from pipelines.foundation.settings import Settings
from pipelines.reference.tables import ReferenceData
from pipelines.validation.parse import ParsedUpload

PIPELINES = Path(__file__).resolve().parents[1]
VALIDATION_CODE = ("foundation", "ingest", "reference", "contract", "validation")


@cache
def _code_digest(unit_directory: str) -> str:
    digest = hashlib.sha256()
    files = [p for layer in VALIDATION_CODE for p in sorted((PIPELINES / layer).rglob("*.py"))]
    files += sorted(Path(unit_directory).glob("*.py"))
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def rules_fingerprint(
    unit: SourceUnit, reference: ReferenceData, settings: Settings, today: dt.date | None = None
) -> str:
    digest = hashlib.sha256()
    for part in (
        _code_digest(str(unit.directory)),
        reference.fingerprint(),
        repr(settings.limits),
        f"{today or dt.date.today():%Y-%m}",
    ):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the ledger keeps of one validation, without the rows."""

    source_id: str
    sha256: str
    file_name: str
    size: int
    accepted: bool
    period: dt.date | None
    months: tuple[str, ...]  # "YYYY-MM" a monthly source's file holds
    rows: int
    ignored_columns: tuple[str, ...]
    problems: tuple[Problem, ...]
    sheet: str | None
    headers: dict[str, str]
    letters: dict[str, str]
    rows_left_out_of_rules: int
    sheet_cells: int  # rows x columns of the sheet as read (bounds the annotated copy)
    fingerprint: str
    validated_at: dt.datetime


class Ledger:
    def __init__(self, settings: Settings, root: Path | None = None):
        self.root = root or settings.ledger_dir

    def _paths(self, source_id: str, sha256: str) -> tuple[Path, Path]:
        folder = self.root / source_id
        return folder / f"{sha256}.json", folder / f"{sha256}.parquet"

    def verdict(self, source_id: str, sha256: str, fingerprint: str | None = None) -> Verdict | None:
        """The entry for this content (under these rules, when a fingerprint is given), else None."""
        meta, _ = self._paths(source_id, sha256)
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if fingerprint is not None and data.get("fingerprint") != fingerprint:
            return None
        return Verdict(
            source_id=data["source_id"],
            sha256=data["sha256"],
            file_name=data["file_name"],
            size=data["size"],
            accepted=data["accepted"],
            period=dt.date.fromisoformat(data["period"]) if data["period"] else None,
            months=tuple(data["months"]),
            rows=data["rows"],
            ignored_columns=tuple(data["ignored_columns"]),
            problems=tuple(from_dicts(data["problems"])),
            sheet=data["sheet"],
            headers=data["headers"],
            letters=data["letters"],
            rows_left_out_of_rules=data["rows_left_out_of_rules"],
            sheet_cells=data.get("sheet_cells", 0),
            fingerprint=data["fingerprint"],
            validated_at=dt.datetime.fromisoformat(data["validated_at"]),
        )

    def upload(self, unit: SourceUnit, path: Path, sha256: str, fingerprint: str) -> ParsedUpload | None:
        """The validated upload, rows included, as if `path` had just been parsed; None when the
        ledger has no entry for this content under these rules."""
        verdict = self.verdict(unit.source_id, sha256, fingerprint)
        if verdict is None:
            return None
        frame = None
        if verdict.accepted:
            _, rows = self._paths(unit.source_id, sha256)
            try:
                frame = pl.read_parquet(rows)
            except (OSError, pl.exceptions.PolarsError):
                return None  # an entry without its rows is no entry
        stat = path.lstat()
        return ParsedUpload(
            path=path,
            frame=frame,
            sheet=verdict.sheet,
            headers=verdict.headers,
            letters=verdict.letters,
            subject_column=unit.subject_column,
            unit=unit,
            sha256=sha256,
            size=stat.st_size,
            modified_at=dt.datetime.fromtimestamp(stat.st_mtime),
            problems=list(verdict.problems),
            ignored_columns=list(verdict.ignored_columns),
            period=verdict.period,
            rows_left_out_of_rules=verdict.rows_left_out_of_rules,
        )

    def record(self, upload: ParsedUpload, fingerprint: str, sheet_cells: int = 0) -> Verdict:
        """Keep the verdict (and the rows of an accepted file); the rows are written before the
        verdict, each atomically, so that a verdict never points at missing rows."""
        unit = upload.unit
        meta, rows = self._paths(unit.source_id, upload.sha256)
        meta.parent.mkdir(parents=True, exist_ok=True)
        if upload.accepted:
            with atomic_path(rows) as temporary:
                upload.frame.write_parquet(temporary)
        months: tuple[str, ...] = ()
        if unit.monthly is not None and upload.frame is not None and unit.monthly.column in upload.frame.columns:
            months = tuple(sorted(upload.frame[unit.monthly.column].drop_nulls().unique().dt.strftime("%Y-%m")))
        verdict = Verdict(
            source_id=unit.source_id,
            sha256=upload.sha256,
            file_name=upload.path.name,
            size=upload.size,
            accepted=upload.accepted,
            period=upload.period,
            months=months,
            rows=upload.rows,
            ignored_columns=tuple(upload.ignored_columns),
            problems=tuple(upload.problems),
            sheet=upload.sheet,
            headers=upload.headers,
            letters=upload.letters,
            rows_left_out_of_rules=upload.rows_left_out_of_rules,
            sheet_cells=sheet_cells,
            fingerprint=fingerprint,
            validated_at=dt.datetime.now().replace(microsecond=0),
        )
        data = dataclasses.asdict(verdict)
        data["period"] = verdict.period.isoformat() if verdict.period else None
        data["validated_at"] = verdict.validated_at.isoformat()
        write_atomically(meta, json.dumps(data, ensure_ascii=False, default=str))
        return verdict
