"""The Dagster layer, thin and declarative: keys and policies (keys.py), the assets of a source
(source_assets.py) and those every source shares (shared_assets.py), what a run covers
(requests.py), the sensors (sensors.py, recovery.py), the schedule (schedules.py), the resources,
and the definitions assembled once (definitions.py). `runs.py` runs a rebuild in process for the CLI."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Used on purpose, and pinned with Dagster (1.13.27): per-upload asset checks (AssetCheckSpec with
# partitions_def), owners and tags set once (Definitions.map_asset_specs), a range of months in one
# run (backfill_policy). Dagster flags them as preview or beta; the tests cover what we rely on.
warnings.filterwarnings("ignore", category=PreviewWarning)
warnings.filterwarnings("ignore", category=BetaWarning)
