"""harmonise sql on a DuckLake: the same locked door as on the file, and no way to the catalog's
PostgreSQL server or to the lake's maintenance (real PostgreSQL, real DuckLake)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app
from tests.conftest import lake_env


def _sql(lake, *args):
    return CliRunner().invoke(app, ["sql", *args], env=lake_env(lake))


def _snapshots(lake) -> int:
    return len(lake.backend.snapshots(limit=10_000))


def test_a_query_on_the_lake_cannot_read_a_file_outside_it(demo_lake, tmp_path):
    secret = tmp_path / "pseudonym.key"
    secret.write_text("key-material-that-must-stay-put", encoding="utf-8")
    for query in (f"SELECT content FROM read_text('{secret}')",
                  f"SELECT * FROM read_csv('{secret}', header = false)", "SELECT * FROM glob('/*')"):
        result = _sql(demo_lake, query)
        assert result.exit_code == 1, (query, result.output)
        assert "key-material" not in result.output and "bin" not in result.output


ESCAPES = {
    "SQL sent to the catalog server":
        "SELECT * FROM postgres_query('__ducklake_metadata_lake', 'SELECT current_user')",
    "the same, inside EXPLAIN ANALYZE":
        "EXPLAIN ANALYZE SELECT * FROM postgres_query('__ducklake_metadata_lake', 'SELECT 1')",
    "the same, in a subquery":
        "SELECT 1 WHERE 1 IN (SELECT 1 FROM postgres_scan('dbname=x', 'public', 't'))",
    "SQL text run unchecked": "SELECT * FROM query('SELECT 42')",
    "orphaned files deleted": "FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)",
    "files rewritten": "FROM ducklake_merge_adjacent_files('lake')",
    "snapshots expired": "FROM ducklake_expire_snapshots('lake', older_than => now())",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_the_catalog_server_and_the_lake_maintenance_are_out_of_reach(demo_lake, name):
    before = _snapshots(demo_lake)
    result = _sql(demo_lake, ESCAPES[name])
    assert result.exit_code == 1, result.output
    assert "Not run" in result.output, result.output
    assert _snapshots(demo_lake) == before


def test_the_lake_still_answers_queries_describes_and_its_snapshots(demo_lake):
    for query, expected in (("SELECT count(*) AS n FROM v_patient", "79"),
                            ("DESCRIBE v_patient", "patient_key"),
                            ("SELECT count(*) > 0 AS some FROM ducklake_snapshots('lake')", "True"),
                            ("EXPLAIN SELECT * FROM v_patient", "physical_plan")):
        result = _sql(demo_lake, query)
        assert result.exit_code == 0, (query, result.output)
        assert expected in result.output, (query, result.output)


def test_the_lake_writes_the_parquet_asked_for_and_the_process_can_still_load(demo_lake, tmp_path):
    import duckdb
    target = tmp_path / "patients.parquet"
    result = _sql(demo_lake, "SELECT center_id, patient_key FROM v_patient", "--parquet", str(target))
    assert result.exit_code == 0, result.output
    assert duckdb.sql(f"SELECT count(*) FROM '{target}'").fetchone()[0] == 79
    with demo_lake.backend.connect() as con:     # the process's own lake instance is not locked
        con.execute("SET threads = 2")
