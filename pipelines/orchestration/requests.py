"""What a run covers: a source's refresh, or the whole rebuild, and for monthly sources which months.

A monthly source's indicators are partitioned by month; a run covers one contiguous range, in one
run: from the first month its new uploads touch to the last month present whose indicator window
includes a touched month (a month corrected in March 2024 recomputes March to November 2024 when
November holds 12-month sums). The months come from the verdicts kept in the ledger, never from
reading the files again.
"""

from __future__ import annotations

from dagster import AssetKey, RunRequest

from pipelines.contract.discovery import reference_data
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.months import add_months, month_key, this_month
from pipelines.foundation.settings import Settings
from pipelines.orchestration.keys import (
    FULL_RELOAD_TAG,
    PUBLICATION_KEY,
    RANGE_END_TAG,
    RANGE_START_TAG,
    REPORTS_KEY,
    kpi_key,
    reference_key,
    staging_key,
)
from pipelines.validation.ledger import Ledger
from pipelines.validation.uploads import list_uploads
from pipelines.validation.verdicts import validated_uploads

MonthRange = tuple[str, str]  # ("YYYY-MM", "YYYY-MM"), both included


def months_to_recompute(touched: set[str], present: set[str], window: int) -> MonthRange | None:
    """From the first touched month to the last present month whose window includes a touched one."""
    if not touched:
        return None
    last_affected = add_months(max(touched), window - 1)
    return min(touched), max(m for m in present | touched if m <= last_affected)


def possible(months: set[str]) -> set[str]:
    """Months that can be partitions (validation rejects the others)."""
    return {m for m in months if m <= month_key(this_month())}


def present_months(unit: SourceUnit, settings: Settings) -> set[str]:
    """Months held by the accepted uploads of raw/<source>/, from their verdicts in the ledger."""
    ledger = Ledger(settings)
    months: set[str] = set()
    for path in list_uploads(settings.raw_dir / unit.source_id):
        verdict = ledger.verdict(unit.source_id, file_sha256(path))
        if verdict is not None and verdict.accepted:
            months.update(verdict.months)
    return possible(months)


def month_range_tags(unit: SourceUnit, touched: list[str], settings: Settings) -> tuple[dict[str, str], bool]:
    """(tags, with_indicators) of a refresh: the month range of a monthly source's new files; no months
    (every new file rejected) leaves its indicators out of the run."""
    if unit.monthly is None:
        return {}, True
    months = months_to_recompute(possible(set(touched)), present_months(unit, settings), unit.monthly.window)
    if months is None:
        return {}, False
    return {RANGE_START_TAG: months[0], RANGE_END_TAG: months[1]}, True


def refresh_selection(unit: SourceUnit, with_indicators: bool, reference_keys: list[AssetKey]) -> list[AssetKey]:
    """What a refresh materializes: the source's rows, its indicators, the publication and the committee
    pack (and the reference tables only when they are not loaded yet or their files changed)."""
    return [
        *reference_keys,
        staging_key(unit),
        *([kpi_key(unit)] if with_indicators else []),
        PUBLICATION_KEY,
        REPORTS_KEY,
    ]


def rebuild_request(units: list[SourceUnit], settings: Settings, *, validate_missing: bool = True) -> RunRequest:
    """The whole rebuild from raw/: every reference table, every source loaded again from all its
    files, every month present; with no monthly data at all, the monthly indicators are left out.
    Uploads never validated are validated first (once: the run then reads their verdicts)."""
    reference = reference_data(settings.reference_dir, settings.territory_code, units)
    ranges = []
    for unit in units:
        if unit.monthly is None:
            continue
        if validate_missing:
            validated_uploads(unit, list_uploads(settings.raw_dir / unit.source_id), reference, settings)
        present = present_months(unit, settings)
        ranges.append((min(present), max(present)) if present else None)
    found = [r for r in ranges if r]
    tags = {FULL_RELOAD_TAG: "complet"}
    keys = [
        *(reference_key(t) for t in reference.tables),
        *(k for u in units for k in (staging_key(u), kpi_key(u))),
        PUBLICATION_KEY,
        REPORTS_KEY,
    ]
    if found:
        tags.update({RANGE_START_TAG: min(r[0] for r in found), RANGE_END_TAG: max(r[1] for r in found)})
        return RunRequest(tags=tags)
    return RunRequest(tags=tags, asset_selection=[k for k in keys if k not in {kpi_key(u) for u in units if u.monthly}])
