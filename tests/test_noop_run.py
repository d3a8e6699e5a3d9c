"""A run where nothing changed does no work: decided from hashes, no Prefect, no report rewrite."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb

SCRIPT = """
import sys
from harmonise.flows.cli import app
try:
    app(["run", "--demo"])
except SystemExit as done:
    code = done.code
print("exit", code, "prefect imported", "prefect" in sys.modules)
"""


def test_an_unchanged_run_is_logged_without_starting_prefect_or_rewriting_the_report(
        demo_warehouse, demo_report, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(demo_warehouse, home / "warehouse.duckdb")
    shutil.copytree(demo_report.parent, home / "report")
    report = home / "report" / "report.html"
    before = report.stat().st_mtime_ns
    env = {**os.environ, "HARMONISE_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert "exit 0 prefect imported False" in done.stdout, done.stdout + done.stderr
    assert report.stat().st_mtime_ns == before
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        last = con.execute("SELECT center_id, status FROM load_log WHERE run_id = "
                           "(SELECT max(run_id) FROM load_log) ORDER BY 1").fetchall()
        freezes = con.execute("SELECT count(*) FROM data_freeze").fetchone()[0]
    assert last == [("site_a", "skipped"), ("site_b", "skipped"), ("site_c", "skipped")]
    assert freezes >= 1


def test_a_changed_export_is_not_taken_for_a_noop(demo_warehouse, tmp_path):
    from harmonise.flows.settings import Settings
    from harmonise.pipeline.run import pseudonym_key, unchanged_centers
    settings = Settings.demo(home=tmp_path, warehouse=demo_warehouse)
    key = pseudonym_key(settings)
    assert unchanged_centers(settings, ["site_a", "site_b", "site_c"], key) is not None
    inbox = tmp_path / "inbox"
    shutil.copytree(settings.inbox, inbox)
    export = next((inbox / "site_b").iterdir())
    export.write_bytes(export.read_bytes() + b"\n")
    changed = Settings.demo(home=tmp_path, warehouse=demo_warehouse, inbox=inbox)
    assert unchanged_centers(changed, ["site_a", "site_b", "site_c"], key) is None
