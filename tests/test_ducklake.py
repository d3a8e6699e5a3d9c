"""The DuckLake backend on a real PostgreSQL catalog: same warehouse as the embedded file,
concurrent center loads from several processes, a killed worker, readers during loads."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_INBOX, Settings
from harmonise.warehouse import store
from tests.conftest import ingest_all, lake_env

COMPARED = (*store.DATA_TABLES, "quarantine", *store.VIEWS)


def counts(settings: Settings) -> dict[str, int]:
    with settings.backend.connect(read_only=True) as con:
        return dict(con.execute("SELECT center_id, count(*) FROM patient GROUP BY 1").fetchall())


def _drop_last_line(path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def test_ducklake_holds_exactly_the_rows_and_views_of_the_embedded_file(demo_lake, demo_con):
    with demo_lake.backend.connect(read_only=True) as con:
        lake = {name: store.table_checksum(con, name) for name in COMPARED}
    assert lake == {name: store.table_checksum(demo_con, name) for name in COMPARED}


def test_sql_and_status_read_the_lake_and_status_lists_its_snapshots(demo_lake):
    env = lake_env(demo_lake)
    runner = CliRunner()
    sql = runner.invoke(app, ["sql", "SELECT center_id, count(*) AS n FROM v_patient GROUP BY ALL "
                                     "ORDER BY 1"], env=env)
    assert sql.exit_code == 0, sql.output
    assert "site_a" in sql.output and "52" in sql.output and "11" in sql.output
    status = runner.invoke(app, ["status"], env=env)
    assert status.exit_code == 0, status.output
    assert "Recent snapshots" in status.output and "load site_c" in status.output


@pytest.mark.slow
def test_the_report_of_the_lake_has_the_numbers_of_the_embedded_report(demo_lake, report_json,
                                                                       tmp_path):
    html = steps.write_report(demo_lake, out_dir=tmp_path / "lake-report")
    lake = json.loads((html.parent / "numbers" / "report.json").read_text(encoding="utf-8"))
    embedded = json.loads(json.dumps(report_json))
    runs = {}
    for name, doc in (("lake", lake), ("embedded", embedded)):
        doc["meta"].pop("generated_at")
        runs[name] = [(f["center_id"], f["file_name"], f["status"]) for f in doc.pop("provenance_files")]
        doc.pop("provenance_centers")            # when each center loaded, in which run: differs
    assert runs["lake"] == runs["embedded"]
    assert lake == embedded                       # every statistic, table and figure number


@pytest.mark.parametrize("catalog, says", [
    (None, "needs lake_catalog"),
    ("dbname=nowhere host=127.0.0.1 port=1 user=harmonise", "Cannot open the DuckLake catalog"),
])
def test_a_lake_that_cannot_be_reached_is_named_with_what_to_check(tmp_path, catalog, says):
    env = {"HARMONISE_HOME": str(tmp_path), "HARMONISE_STORAGE": "ducklake",
           "HARMONISE_LAKE_CATALOG": catalog or "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 4, result.output
    assert says in result.output


def test_as_of_on_the_embedded_file_says_it_needs_ducklake(demo_warehouse):
    result = CliRunner().invoke(app, ["report", "--warehouse", str(demo_warehouse), "--as-of", "3"])
    assert result.exit_code == 2
    assert "keeps no snapshots" in result.output and "ducklake" in result.output


CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    from harmonise.warehouse import lake, loader

    pause, centers = float(sys.argv[1]), sys.argv[2].split(",")
    settings = Settings(demo_key=True, inbox=sys.argv[3])
    meet = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    real_insert, real_conflict = loader._insert, lake.is_conflict
    def slow_insert(con, table, frame, *rest):
        real_insert(con, table, frame, *rest)
        if table != "treatment":
            return
        print("MID-LOAD", flush=True)      # rows deleted, half inserted, nothing committed
        if meet is None:
            time.sleep(pause)
            return
        center = frame["center_id"].iloc[0]  # wait until the other process is mid-load too
        (meet / f"{center}-{os.getpid()}").touch()
        end = time.time() + 300
        while len(list(meet.glob(center + "-*"))) < 2 and time.time() < end:
            time.sleep(0.05)
    def counted(err):
        found = real_conflict(err)
        print("CONFLICT" if found else "ERROR " + str(err), flush=True)
        return found
    loader._insert, lake.is_conflict = slow_insert, counted
    key, run_id = steps.pseudonym_key(settings), steps.new_run_id()
    for center in centers:
        result = steps.ingest_center(center, settings, run_id, key, force=True)
        print("RESULT", center, result.status, result.patients_loaded, flush=True)
""")


def start_child(settings: Settings, centers: str, pause: float = 0, inbox=DEMO_INBOX,
                meet=None) -> subprocess.Popen:
    """A loader process; it pauses mid-load for ``pause`` s, or until a second one is mid-load
    of the same center too (``meet``: a shared folder)."""
    extra = [str(meet)] if meet else []
    return subprocess.Popen([sys.executable, "-c", CHILD, str(pause), centers, str(inbox), *extra],
                            env=lake_env(settings), stdout=subprocess.PIPE, text=True)


def finish(child: subprocess.Popen) -> list[str]:
    out, _ = child.communicate(timeout=300)
    assert child.returncode == 0, out
    return out.splitlines()


@pytest.mark.slow
def test_two_processes_loading_the_same_centers_at_once_store_each_exactly_once(lake_settings_for,
                                                                              tmp_path):
    settings = lake_settings_for()
    ingest_all(settings)
    children = [start_child(settings, "site_b,site_c", meet=tmp_path) for _ in range(2)]
    lines = [line for child in children for line in finish(child)]
    assert lines.count("RESULT site_b loaded 16") == 2 and lines.count("RESULT site_c loaded 11") == 2
    assert "CONFLICT" in lines                          # the race happened and was retried
    assert not [line for line in lines if line.startswith("ERROR")]
    assert counts(settings) == {"site_a": 52, "site_b": 16, "site_c": 11}   # once, not twice
    with settings.backend.connect(read_only=True) as con:
        loads = con.execute("SELECT center_id, count(DISTINCT run_id) FROM load_log WHERE "
                            "status = 'loaded' GROUP BY 1 ORDER BY 1").fetchall()
        duplicates = con.execute("SELECT count(*) FROM (SELECT center_id, patient_key FROM "
                                 "outcome GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    assert loads == [("site_a", 1), ("site_b", 3), ("site_c", 3)]   # no attempt lost
    assert duplicates == 0


@pytest.mark.slow
def test_a_worker_killed_mid_load_commits_nothing_and_the_next_run_recovers(lake_settings_for,
                                                                            inbox_copy):
    settings = lake_settings_for(inbox_copy)
    ingest_all(settings)
    with settings.backend.connect(read_only=True) as con:
        before = {t: store.table_checksum(con, t) for t in COMPARED}
    snapshots_before = len(settings.backend.snapshots(limit=1000))
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")
    child = start_child(settings, "site_c", pause=120, inbox=inbox_copy)
    try:
        assert child.stdout.readline().strip() == "MID-LOAD"
        child.kill()                                    # SIGKILL: no cleanup of any kind
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    kinds = [s.kind for s in settings.backend.snapshots(limit=1000)[:-snapshots_before]]
    assert "load" not in kinds                          # nothing of the dead load committed
    with settings.backend.connect(read_only=True) as con:
        assert {t: store.table_checksum(con, t) for t in COMPARED} == before
    results = ingest_all(settings)                      # the next run, no manual step
    assert results["site_c"].status == "loaded"
    assert counts(settings) == {"site_a": 52, "site_b": 16, "site_c": 10}


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from harmonise.flows.settings import Settings
    settings, stop, seen, errors = Settings(), Path(sys.argv[1]), set(), []
    def read():
        try:
            with settings.backend.connect(read_only=True) as con:   # one snapshot per session
                rows = con.execute("SELECT p.center_id, count(*), (SELECT count(*) FROM outcome o "
                                   "WHERE o.center_id = p.center_id) FROM patient p GROUP BY 1"
                                   ).fetchall()
                seen.add(json.dumps(sorted(rows)))
        except Exception as exc:
            errors.append(repr(exc))
    read()
    print("READING", flush=True)
    while not stop.exists():                                          # until the loads are done
        read()
        time.sleep(0.05)
    read()
    print(json.dumps({"seen": sorted(seen), "errors": errors[:3]}))
""")


@pytest.mark.slow
def test_readers_see_only_whole_loads_while_two_centers_load_at_once(lake_settings_for, inbox_copy):
    settings = lake_settings_for(inbox_copy)
    ingest_all(settings)
    _drop_last_line(inbox_copy / "site_a" / "site_a_patients.csv")
    _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")
    stop = inbox_copy.parent / "loads-done"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], env=lake_env(settings),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "READING"        # it read the state before
        loaders = [start_child(settings, c, pause=1.5, inbox=inbox_copy)
                   for c in ("site_a", "site_c")]
        for center, child in zip(("site_a", "site_c"), loaders):
            assert f"RESULT {center} loaded" in " ".join(finish(child))
        stop.touch()
        out, _ = reader.communicate(timeout=300)
    finally:
        if reader.poll() is None:
            reader.kill()
    report = json.loads(out)
    assert report["errors"] == []
    states = [{c: (n, o) for c, n, o in json.loads(s)} for s in report["seen"]]
    for state in states:
        assert state["site_b"] == (16, 16)
        assert state["site_a"] in ((52, 52), (51, 51)) and state["site_c"] in ((11, 11), (10, 10))
    assert any(s["site_a"] == (52, 52) for s in states)          # it read before the loads
    assert any(s["site_a"] == (51, 51) for s in states)          # and after
    assert counts(settings) == {"site_a": 51, "site_b": 16, "site_c": 10}
