"""The example queries of the README's "Interroger l'entrepôt" section run and return rows."""

import re

import pytest

from pipelines.settings import PROJECT_ROOT
from tests.conftest import copy_sample, published, run_pipeline

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Interroger l'entrepôt", 1)[1].split("\n## ", 1)[0]
QUERIES = re.findall(r"```sql\n(.*?)```", SECTION, flags=re.S)


def test_the_readme_shows_five_queries():
    assert len(QUERIES) == 5


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from pipelines.settings import load_settings

    root = tmp_path_factory.mktemp("readme")
    (root / "raw").mkdir()
    settings = load_settings().with_paths(raw_dir=root / "raw", warehouse_path=root / "warehouse" / "esante.duckdb")
    for source in ("pharmacy_survey", "care_registrations", "mes_statistics"):
        copy_sample(settings, source)
    assert run_pipeline(settings).success
    with published(settings) as connection:
        yield connection


@pytest.mark.parametrize("query", QUERIES, ids=[q.splitlines()[0][3:40] for q in QUERIES])
def test_readme_query_runs_and_returns_rows(warehouse, query):
    rows = warehouse.execute(query).fetchall()
    assert rows, query
