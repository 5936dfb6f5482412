"""Adding a source is adding one unit and its data: a minimal unit written in a temporary package is
picked up end to end (validation, staging, indicators, catalogue, views, the sensor, the source page)
without any other edit; and the layers of the code import only downward, without cycles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from pipelines.foundation.settings import PROJECT_ROOT

UNIT = textwrap.dedent('''
    """Source `visio_count`: a minimal unit, written by a test."""

    import datetime as dt
    from pathlib import Path

    import pandera.polars as pa

    from pipelines.contract import Column, Indicator, SourceUnit, UploadedRow


    class VisioRow(UploadedRow):
        commune: str
        consultations: int = pa.Field(ge=0)


    SOURCE = SourceUnit(
        source_id="visio_count",
        label="Téléconsultations par commune",
        objective=6,
        columns=(
            Column("commune", "commune", ("Commune",), "commune", required=True, nullable=False),
            Column("consultations", "integer", ("Consultations",), "consultations", required=True, nullable=False),
        ),
        schema=VisioRow,
        directory=Path(__file__).parent,
        upload_period=lambda path, frame: dt.date(int(path.name[:4]), int(path.name[5:7]), 1),
        steward="un test",
        owner="team:tests",
        contract="Une ligne par commune et par mois.",
        indicators=(Indicator("visio_consultations", "Téléconsultations", 6, "Somme des consultations.", "nombre"),),
    )
''')
STAGING = """
CREATE TABLE IF NOT EXISTS staging.visio_count (
    period DATE NOT NULL, commune VARCHAR NOT NULL, consultations BIGINT NOT NULL,
    upload_sha256 VARCHAR NOT NULL, source_row BIGINT NOT NULL
);
COMMENT ON TABLE staging.visio_count IS 'Téléconsultations par commune (unité de test).';
COMMENT ON COLUMN staging.visio_count.period IS 'Mois.';
COMMENT ON COLUMN staging.visio_count.commune IS 'Code INSEE de la commune.';
COMMENT ON COLUMN staging.visio_count.consultations IS 'Nombre de téléconsultations.';
COMMENT ON COLUMN staging.visio_count.upload_sha256 IS 'Fichier déposé.';
COMMENT ON COLUMN staging.visio_count.source_row IS 'Ligne du fichier.';
"""
LOAD = """
DELETE FROM staging.visio_count WHERE period = $period;
INSERT INTO staging.visio_count BY NAME SELECT $period AS period, $sha256 AS upload_sha256, * FROM upload_rows;
"""
INDICATORS = """
SELECT 'visio_consultations' AS indicator_id, 'departement' AS territory_level, '72' AS territory_code,
       period, NULL::VARCHAR AS segment, sum(consultations)::BIGINT AS numerator, NULL::BIGINT AS denominator,
       sum(consultations)::DOUBLE AS value, 'nombre' AS unit, NULL::VARCHAR AS note,
       list_distinct(list(upload_sha256)) AS upload_sha256
FROM staging.visio_count GROUP BY period
"""


def write_unit(root: Path) -> Path:
    unit = root / "visio_count"
    unit.mkdir(parents=True)
    (unit / "__init__.py").write_text(UNIT, encoding="utf-8")
    (unit / "staging.sql").write_text(STAGING, encoding="utf-8")
    (unit / "load.sql").write_text(LOAD, encoding="utf-8")
    (unit / "indicators.sql").write_text(INDICATORS, encoding="utf-8")
    return root


def test_a_new_unit_in_a_temporary_package_works_end_to_end_without_any_other_edit(tmp_path):
    units = write_unit(tmp_path / "units")
    raw = tmp_path / "raw" / "visio_count"
    raw.mkdir(parents=True)
    (raw / "2025-03 visio.csv").write_text("Commune;Consultations\n72181;40\n72003;2\n", encoding="utf-8")
    (raw / "2025-04 visio.csv").write_text("Commune;Consultations\n72181;35\n99999;oui\n", encoding="utf-8")
    warehouse = tmp_path / "warehouse" / "esante.duckdb"
    env = {
        **os.environ,
        "ESANTE_UNIT_DIRS": str(units),
        "ESANTE_RAW_DIR": str(tmp_path / "raw"),
        "ESANTE_WAREHOUSE": str(warehouse),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    esante = str(Path(sys.executable).parent / "esante")
    run = subprocess.run([esante, "run"], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Téléconsultations, Sarthe, 03/2025 : 42" in run.stdout
    assert "✘ visio_count/2025-04 visio.csv" in run.stdout  # rejected: an unknown value and an unreadable one
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute(
            "SELECT numerateur, valeur_affichee, territoire FROM kpi.v_objectif_6_telesante "
            "WHERE indicateur = 'visio_consultations'"
        ).fetchall() == [(42, "42", "Sarthe")]
        assert connection.execute(
            "SELECT source_id FROM kpi.indicator WHERE indicator_id = 'visio_consultations'"
        ).fetchall() == [("visio_count",)]
        comment = connection.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'visio_count'").fetchall()
        assert comment == [("Téléconsultations par commune (unité de test).",)]
    # the sensor watches its folder, and its contract page is generated like the others'
    probe = textwrap.dedent("""
        import json, sys, time
        from pathlib import Path
        from pipelines.contract import discover_units, reference_data
        from pipelines.contract.pages import source_page
        from pipelines.orchestration.sensors import scan_uploads
        units = [u.source_id for u in discover_units()]
        scan = scan_uploads(Path(sys.argv[1]), units, {}, set(), now=time.time() + 60)
        page = source_page(next(u for u in discover_units() if u.source_id == "visio_count"), reference_data(sys.argv[2]))
        print(json.dumps({"units": units, "new": sorted(scan.new), "page": page}))
    """)
    found = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "raw"), str(PROJECT_ROOT / "reference")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=PROJECT_ROOT,
    )
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)
    assert "visio_count" in report["units"] and report["new"] == ["visio_count"]
    assert "# Téléconsultations par commune (`visio_count`)" in report["page"]


def test_the_packages_import_one_another_without_cycles():
    """import-linter keeps the layers (make lint); within them, no module imports one that imports it."""
    import grimp

    graph = grimp.build_graph("pipelines", "assets")
    modules = sorted(graph.modules)
    index = {m: i for i, m in enumerate(modules)}
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & set(modules)) for m in modules}
    cycles = _strongly_connected(modules, edges, index)
    assert [c for c in cycles if len(c) > 1] == []


def _strongly_connected(nodes, edges, index):
    """Tarjan's algorithm, iterative."""
    counter, stack, on_stack, low, order, result = [0], [], set(), {}, {}, []
    for root in nodes:
        if root in order:
            continue
        work = [(root, iter(edges[root]))]
        order[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in order:
                    order[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], order[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def test_the_generated_source_pages_are_current():
    from pipelines.contract import discover_units, reference_data
    from pipelines.contract.pages import index_page, source_page

    units = discover_units()
    reference = reference_data(PROJECT_ROOT / "reference", "72", units)
    folder = PROJECT_ROOT / "docs" / "sources"
    for unit in units:
        committed = (folder / f"{unit.source_id}.md").read_text(encoding="utf-8")
        assert committed == source_page(unit, reference), f"docs/sources/{unit.source_id}.md is stale: esante docs"
    assert (folder / "README.md").read_text(encoding="utf-8") == index_page(units)
