"""Centers mapped and validated in parallel processes load exactly as one by one."""
from __future__ import annotations

import duckdb

from harmonise.flows.settings import Settings
from harmonise.pipeline.pool import ingest_centers
from harmonise.pipeline.run import (centers_to_run, new_run_id, prepare_warehouse, pseudonym_key,
                                    refresh_views)
from harmonise.warehouse.store import DATA_TABLES, table_checksum


def test_centers_built_on_two_cores_give_the_same_warehouse_and_a_bad_one_fails_alone(
        demo_warehouse, tmp_path):
    settings = Settings.demo(home=tmp_path)
    prepare_warehouse(settings)
    centers = [*centers_to_run(settings), "no_such_center"]
    results = ingest_centers(centers, settings, new_run_id(), pseudonym_key(settings), workers=2)
    refresh_views(settings)
    assert [(r.center, r.status) for r in results] == [
        ("site_a", "loaded"), ("site_b", "loaded"), ("site_c", "loaded"), ("no_such_center", "failed")]
    assert "no mapping file" in results[-1].message
    tables = (*DATA_TABLES, "quarantine")
    with duckdb.connect(str(settings.warehouse), read_only=True) as built, \
            duckdb.connect(str(demo_warehouse), read_only=True) as one_by_one:
        assert {t: table_checksum(built, t) for t in tables} == \
            {t: table_checksum(one_by_one, t) for t in tables}


def test_builder_processes_yield_the_cpu_to_the_run_that_loads():
    import os

    from harmonise.pipeline.pool import BUILDER_NICENESS, CenterWorkers
    with CenterWorkers(2) as pool:
        niceness = {pool._processes().submit(os.nice, 0).result() for _ in range(4)}
    assert niceness == {min(19, os.nice(0) + BUILDER_NICENESS)}


def test_builder_processes_start_when_the_pool_is_entered_before_any_center():
    from harmonise.pipeline.pool import CenterWorkers
    with CenterWorkers(2) as pool:
        assert pool._pool is not None and len(pool._pool._processes) == 2   # nothing submitted yet


def test_the_writer_holds_the_file_with_one_duckdb_thread_and_gives_them_back_for_the_checkpoint(
        tmp_path):
    from harmonise.warehouse.backend import EmbeddedFile, held
    warehouse = EmbeddedFile(tmp_path / "w.duckdb")
    setting = "SELECT current_setting('threads')"
    with warehouse.connect() as con:
        default = con.execute(setting).fetchone()[0]
    with held(warehouse, threads=1):
        with warehouse.connect() as con:                 # a cursor of the held connection
            assert con.execute(setting).fetchone()[0] == 1
        same_instance = duckdb.connect(str(warehouse.path))   # DuckDB's cached instance of the file
    try:                                                 # the hold ended: its threads are back
        assert same_instance.execute(setting).fetchone()[0] == default
    finally:
        same_instance.close()
