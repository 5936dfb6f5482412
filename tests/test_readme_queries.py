"""The example queries of the README's "Interroger l'entrepôt" section run and return rows."""

import re

import pytest

from pipelines.foundation.settings import PROJECT_ROOT
from tests.conftest import published

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Interroger l'entrepôt", 1)[1].split("\n## ", 1)[0]
QUERIES = re.findall(r"```sql\n(.*?)```", SECTION, flags=re.S)


def test_the_readme_shows_its_queries():
    assert len(QUERIES) >= 5


@pytest.mark.parametrize("query", QUERIES, ids=[q.splitlines()[0][3:40] for q in QUERIES])
def test_readme_query_runs_and_returns_rows(sample_warehouse, query):
    with published(sample_warehouse) as connection:
        assert connection.execute(query).fetchall(), query
