"""Names the Dagster layer gives things: asset keys (the data's journey, the stage in each node's
name), jobs, tags, the month partitions. Nothing here runs anything."""

from __future__ import annotations

from dagster import AssetKey, BackfillPolicy, DynamicPartitionsDefinition, MonthlyPartitionsDefinition

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.months import FIRST_MONTH as FIRST_MONTH_DAY
from pipelines.foundation.months import month_key


# raw -> staging -> kpi, and the node says its stage: "pharmacy_survey_upload", "..._rows", "..._indicators"
def upload_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["raw", f"{unit.source_id}_upload"])


def staging_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["staging", f"{unit.source_id}_rows"])


def kpi_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["kpi", f"{unit.source_id}_indicators"])


def reference_key(table: str) -> AssetKey:
    return AssetKey(["ref", table])


PUBLICATION_KEY = AssetKey(["warehouse", "published_warehouse"])
REPORTS_KEY = AssetKey(["reports", "committee_pack"])  # the committee pack, rebuilt at each publication

REBUILD_JOB = "rebuild_warehouse"


def refresh_job_name(unit: SourceUnit) -> str:
    return f"refresh_{unit.source_id}"


def validation_job_name(unit: SourceUnit) -> str:
    return f"validate_{unit.source_id}_upload"


def upload_partitions(unit: SourceUnit) -> DynamicPartitionsDefinition:
    """One partition per upload (by content): the history of each source's drops, in the UI."""
    return DynamicPartitionsDefinition(name=f"{unit.source_id}_uploads")


# Month partitions of monthly sources: one definition for all, so that a rebuild covers them in one
# run. The current month is a partition too (statistics at the end of the month so far).
FIRST_MONTH = month_key(FIRST_MONTH_DAY)
MONTHS = MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m", timezone="Europe/Paris", end_offset=1)
SINGLE_RUN = BackfillPolicy.single_run()  # a range of months in one run, not one run per month

# Dagster's tags for a run over a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Our own run tags.
FULL_RELOAD_TAG = "esante/rechargement"  # "complet": staging loaded again from every file of raw/
SOURCE_TAG = "esante/source"  # the source a refresh is for (its tag concurrency limit coalesces drops)
FILES_TAG = "esante/fichiers"  # the files a refresh was asked for (shown in the UI's run list)
PID_TAG, HOST_TAG = "esante/pid", "esante/hote"  # where the run's process lives (to fail it when it dies)
