"""Faults injected on purpose: exceptions and SIGKILL mid-load, readers during a run, two runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.runlock import AlreadyRunning, run_lock
from harmonise.flows.settings import PROJECT_ROOT
from tests.conftest import ingest_all
from harmonise.warehouse import loader
from harmonise.warehouse.publish import staging_path
from harmonise.warehouse.store import DATA_TABLES, table_checksum

TABLES = (*DATA_TABLES, "quarantine", "center_load")


def _checksums(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: table_checksum(con, t) for t in TABLES}


def _drop_last_line(path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


@pytest.mark.parametrize("failing_table", ["patient", "outcome", "adverse_event", "quarantine"])
def test_exception_at_any_step_of_a_load_leaves_the_center_as_it_was(
        published_copy, inbox_copy, monkeypatch, failing_table):
    settings = published_copy
    before = _checksums(settings.warehouse)
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")   # a real change to load
    real_insert = loader._insert

    def failing_insert(con, table, frame, *rest):
        if table == failing_table:
            raise RuntimeError("disk full (injected)")
        real_insert(con, table, frame, *rest)

    monkeypatch.setattr(loader, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="injected"):
        steps.ingest_center("site_c", settings, steps.new_run_id(), steps.pseudonym_key(settings),
                            force=True)
    assert _checksums(settings.warehouse) == before
    monkeypatch.undo()
    assert ingest_all(settings)["site_c"].status == "loaded"            # the next run recovers
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM patient WHERE center_id='site_c'").fetchone()[0] == 10


RUNNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    from harmonise.warehouse import loader

    settings = Settings(home=Path(sys.argv[1]), inbox=Path(sys.argv[2]), demo_key=True)
    real_insert = loader._insert
    def slow_insert(con, table, frame, *rest):
        real_insert(con, table, frame, *rest)
        if table == "treatment":            # rows deleted and half inserted: the worst moment
            print("MID-LOAD", flush=True)
            time.sleep(60)
    loader._insert = slow_insert
    build = steps.begin_build(settings)
    steps.prepare_warehouse(build)
    run_id, key = steps.new_run_id(), steps.pseudonym_key(settings)
    for center in steps.centers_to_run(settings):
        steps.ingest_center(center, build, run_id, key, force=True)
    steps.publish_build(build, settings)
""")


def test_sigkill_mid_load_leaves_the_published_warehouse_exactly_as_before_and_next_run_recovers(
        published_copy, inbox_copy, tmp_path):
    settings = published_copy
    before = _checksums(settings.warehouse)
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(settings.home), str(inbox_copy)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "MID-LOAD"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert staging_path(settings.warehouse).exists()                    # the dead run's copy
    assert _checksums(settings.warehouse) == before                     # published: untouched
    build = steps.begin_build(settings)                                 # next run, no manual step
    results = ingest_all(build)
    steps.publish_build(build, settings)
    assert results["site_c"].status == "loaded"
    assert not staging_path(settings.warehouse).exists()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 78


READER = textwrap.dedent("""
    import json, sys, time, duckdb
    path, seconds = sys.argv[1], float(sys.argv[2])
    held = duckdb.connect(path, read_only=True)            # an analyst's session, kept open
    end, seen, errors = time.time() + seconds, set(), []
    while time.time() < end:
        try:
            with duckdb.connect(path, read_only=True) as con:    # and new sessions, again and again
                seen.add(con.execute("SELECT count(*) FROM v_patient").fetchone()[0])
            seen.add(held.execute("SELECT count(*) FROM v_patient").fetchone()[0])
        except Exception as exc:
            errors.append(repr(exc))
        time.sleep(0.02)
    print(json.dumps({"seen": sorted(seen), "errors": errors[:3]}))
""")


def test_readers_keep_working_during_a_run_and_never_see_half_a_load(published_copy, inbox_copy):
    settings = published_copy
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.warehouse), "6"],
                              stdout=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)
    for _ in range(2):                                       # two full runs while it reads
        build = steps.begin_build(settings)
        ingest_all(build, force=True)
        steps.publish_build(build, settings)
    out, _ = reader.communicate(timeout=60)
    report = json.loads(out)
    assert report["errors"] == []
    assert set(report["seen"]) <= {79, 78} and 79 in report["seen"]   # whole loads only, old or new


def test_a_second_run_stops_with_already_running_and_changes_nothing(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with run_lock(warehouse.with_name("w.duckdb.lock")):
        result = CliRunner().invoke(app, ["run", "--demo", "--warehouse", str(warehouse)])
    assert result.exit_code == 3
    assert "already running" in result.output and f"pid {os.getpid()}" in result.output
    assert not warehouse.exists()


def test_wait_flag_waits_for_the_running_one(tmp_path):
    lock = tmp_path / "w.lock"
    released = threading.Event()

    def hold():
        with run_lock(lock):
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.3)
    with pytest.raises(AlreadyRunning):
        with run_lock(lock):
            pass
    threading.Timer(0.5, released.set).start()
    started = time.monotonic()
    with run_lock(lock, wait=True, timeout_s=10, poll_s=0.1):
        waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.3
