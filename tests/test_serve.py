"""`harmonise serve` against the session's real Prefect server: the schedule, and a run it executes."""
from __future__ import annotations

import subprocess

import duckdb
import pytest

from tests.prefect_server import BIN, stop, wait_for


@pytest.mark.slow
def test_serve_registers_the_cron_in_its_time_zone_and_runs_the_nightly_flow(prefect_server, tmp_path):
    env = prefect_server.env(HARMONISE_HOME=str(tmp_path / "home"))
    serve = subprocess.Popen([str(BIN / "harmonise"), "serve", "--demo", "--cron", "15 3 * * *",
                              "--timezone", "Europe/Paris"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # The session's server also holds other tests' deployments (the hospitals' per-center
        # ones): ask for this one by name.
        nightly = {"deployments": {"name": {"any_": ["nightly"]}}}
        deployment = wait_for(lambda: prefect_server.post("/deployments/filter", nightly), 90,
                              "the nightly deployment")[0]
        assert deployment["name"] == "nightly" and deployment["parameters"] == {"demo": True}
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in deployment["schedules"]] == [
            ("15 3 * * *", "Europe/Paris")]
        run = prefect_server.post(f"/deployments/{deployment['id']}/create_flow_run")
        state = wait_for(lambda: (lambda s: s if s in ("COMPLETED", "FAILED", "CRASHED") else None)(
            prefect_server.post("/flow_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})[0]
            ["state_type"]), 300, "the triggered flow run")
        assert state == "COMPLETED"
        warehouse = tmp_path / "home" / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79
        assert (tmp_path / "home" / "report" / "report.html").is_file()
    finally:
        stop(serve)
