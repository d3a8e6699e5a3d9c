"""Analysts' read-write sessions on the published warehouse: killed, live, or with a stale log."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest

from harmonise.flows import steps
from harmonise.warehouse.store import table_checksum
from harmonise.warehouse.publish import WarehouseBusy, recover_wal, wal_path
from tests.conftest import ingest_all

KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys, duckdb
    con = duckdb.connect(sys.argv[1])                  # an analyst's read-write session
    con.execute("CREATE TABLE analyst_notes AS SELECT 42 AS answer")
    con.execute("DELETE FROM adverse_event WHERE center_id = 'site_b'")   # a slip
    os.kill(os.getpid(), signal.SIGKILL)               # killed before any checkpoint
""")

LIVE_WRITER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE analyst_view AS SELECT 1 AS x")
    print("OPEN", flush=True)
    time.sleep(120)
""")


def _run_once(settings) -> None:
    build = steps.begin_build(settings)
    ingest_all(build, force=True)
    steps.publish_build(build, settings)


def _kill_a_writer(path) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert wal_path(path).exists()                     # the real leftover log


@pytest.fixture
def published(published_copy):
    return published_copy               # the demo centers, loaded and published once


def _adverse_events(path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return table_checksum(con, "adverse_event")


def test_a_killed_sessions_log_is_folded_in_and_the_published_warehouse_opens_after_two_runs(
        published):
    before = _adverse_events(published.warehouse)
    _kill_a_writer(published.warehouse)
    _run_once(published)
    _run_once(published)
    assert not wal_path(published.warehouse).exists()
    assert _adverse_events(published.warehouse) == before   # reloaded, the log not replayed late
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79
        assert con.execute("SELECT answer FROM analyst_notes").fetchone()[0] == 42  # kept


def test_a_damaged_log_is_set_aside_with_a_note_and_the_warehouse_opens_again(published):
    _kill_a_writer(published.warehouse)
    log = wal_path(published.warehouse)
    data = log.read_bytes()
    log.write_bytes(data[:40] + b"\xff" * 200 + data[240:])       # e.g. cut short by a full disk
    with pytest.raises(duckdb.Error, match="replaying WAL"):
        duckdb.connect(str(published.warehouse), read_only=True)
    note = recover_wal(published.warehouse)
    assert note and "could not be replayed" in note and ".wal.unreadable-" in note
    assert not wal_path(published.warehouse).exists()
    assert list(published.warehouse.parent.glob("*.wal.unreadable-*"))
    _run_once(published)
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79


def test_a_live_read_write_session_stops_the_run_with_what_to_do_and_keeps_its_work(published):
    proc = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(published.warehouse)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "OPEN"
        with pytest.raises(WarehouseBusy, match="open read-write in another program"):
            steps.begin_build(published)
        with pytest.raises(WarehouseBusy, match="Close that session"):
            steps.preflight(published)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    _run_once(published)                               # after the session ends: no manual step
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        assert con.execute("SELECT x FROM analyst_view").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79


def test_publish_refuses_when_a_session_opened_read_write_during_the_build(published):
    build = steps.begin_build(published)
    ingest_all(build, force=True)
    proc = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(published.warehouse)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "OPEN"
        with pytest.raises(WarehouseBusy, match="was not published"):
            steps.publish_build(build, published)
    finally:
        proc.kill()
        proc.wait(timeout=30)
