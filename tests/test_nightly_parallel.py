"""The nightly flow on two cores: centers built side by side in worker processes, loaded one at a
time, each center still its own Prefect task run; the warehouse is the one-by-one run's.

No timing is asserted (speed lives in ``make bench``): the test proves behaviour only.
"""
from __future__ import annotations

import duckdb
import pytest

from harmonise.flows.nightly import nightly, results_of
from harmonise.warehouse.store import DATA_TABLES

pytestmark = pytest.mark.slow


def _rows(con, table: str, centers: tuple[str, ...]) -> list[tuple]:
    """Every row of ``table`` for ``centers``, run-specific columns left out, sorted."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()
               if r[0] not in ("load_id", "run_id", "loaded_at")]
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT {listed} FROM {table} WHERE center_id IN "
                       f"({', '.join('?' for _ in centers)}) ORDER BY {listed}",
                       list(centers)).fetchall()


def test_two_workers_give_the_one_by_one_warehouse_and_one_task_run_per_center(
        tmp_path, inbox_copy, prefect_server, demo_warehouse, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings
    monkeypatch.setenv("HARMONISE_WORKERS", "2")
    (inbox_copy / "site_b" / "site_b_export.xlsx").write_bytes(b"not a workbook")
    warehouse = tmp_path / "wh.duckdb"
    before = {r["id"] for r in prefect_server.post("/flow_runs/filter")}
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api}):
        state = nightly(demo=True, inbox=str(inbox_copy), warehouse=str(warehouse),
                        return_state=True)

    results = results_of(state)
    assert [(r.center, r.status) for r in results] == [
        ("site_a", "loaded"), ("site_b", "failed"), ("site_c", "loaded")]  # the order asked
    assert "site_b_export.xlsx" in results[1].message

    runs = [r for r in prefect_server.post("/flow_runs/filter") if r["id"] not in before]
    assert len(runs) == 1
    tasks = prefect_server.post("/task_runs/filter",
                                {"flow_runs": {"id": {"any_": [runs[0]["id"]]}}})
    states = {t["name"]: t["state_type"] for t in tasks if t["name"].startswith("ingest-")}
    assert states == {"ingest-site_a": "COMPLETED", "ingest-site_b": "FAILED",
                      "ingest-site_c": "COMPLETED"}

    good = ("site_a", "site_c")
    with duckdb.connect(str(warehouse), read_only=True) as parallel, \
            duckdb.connect(str(demo_warehouse), read_only=True) as one_by_one:
        for table in (*DATA_TABLES, "quarantine"):
            assert _rows(parallel, table, good) == _rows(one_by_one, table, good), table
        assert parallel.execute("SELECT DISTINCT center_id, status FROM load_log ORDER BY 1").fetchall() \
            == [("site_a", "loaded"), ("site_b", "failed"), ("site_c", "loaded")]
