"""Month partitions of monthly sources: which months a run recomputes, and how Dagster shows them.

A monthly source (`SourceUnit.monthly`) has its indicators partitioned by month. A run covers a
contiguous range of months, in one run (single-run backfill policy): from the first month an
upload touches to the last month present whose indicator window includes a touched month. The
months are read from the files themselves (one column, `months_in_file`), before the run, so
the run is launched for exactly those partitions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import BackfillPolicy, MonthlyPartitionsDefinition

from pipelines.settings import Settings
from pipelines.source import SourceUnit
from pipelines.uploads import list_uploads
from pipelines.validation import months_in_file

MonthRange = tuple[str, str]  # ("YYYY-MM", "YYYY-MM"), both included

# Dagster's tags for a run over a range of partitions (one run, not one run per month).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


# One definition for every monthly source, so that a rebuild covers them all in one run. It starts
# when Mon espace santé opened to everyone; a unit's own first month may not be earlier.
FIRST_MONTH = "2022-01"
# end_offset=1: the current month is a partition too (statistics at the end of the month so far).
MONTHS = MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m", timezone="Europe/Paris", end_offset=1)
SINGLE_RUN = BackfillPolicy.single_run()


def add_months(month: str, count: int) -> str:
    year, number = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + count, 12)
    return f"{year:04d}-{number + 1:02d}"


def months_of_uploads(paths: list[Path], unit: SourceUnit, settings: Settings) -> set[str]:
    """Months held by these files that can be partitions (validation rejects the others)."""
    assert unit.monthly is not None
    this_month = f"{dt.date.today():%Y-%m}"
    months = set().union(*(months_in_file(path, unit, settings) for path in paths))
    return {m for m in months if unit.monthly.first_month <= m <= this_month}


def months_to_recompute(touched: set[str], present: set[str], window: int) -> MonthRange | None:
    """From the first touched month to the last present month whose window includes a touched one."""
    if not touched:
        return None
    last_affected = add_months(max(touched), window - 1)
    return min(touched), max(m for m in present | touched if m <= last_affected)


def raw_month_range(unit: SourceUnit, settings: Settings, new_files: list[Path] | None = None) -> MonthRange | None:
    """The months a run must recompute: all of them (a rebuild), or those new files touch."""
    assert unit.monthly is not None
    present = months_of_uploads(list_uploads(settings.raw_dir / unit.source_id), unit, settings)
    touched = present if new_files is None else months_of_uploads(new_files, unit, settings)
    return months_to_recompute(touched, present, unit.monthly.window)


def union(ranges: list[MonthRange | None]) -> MonthRange | None:
    """One range covering several (a rebuild runs every monthly source in one run)."""
    present = [r for r in ranges if r]
    return (min(r[0] for r in present), max(r[1] for r in present)) if present else None


def range_tags(months: MonthRange) -> dict[str, str]:
    return {RANGE_START_TAG: months[0], RANGE_END_TAG: months[1]}
