"""`harmonise serve` against a real Prefect server on loopback: the schedule, and a run it executes."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, path: str, body: dict | None = None):
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _wait(predicate, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_serve_registers_the_cron_and_runs_the_nightly_flow_on_a_real_prefect_server(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
           "HARMONISE_HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    serve = None
    try:
        _wait(lambda: urllib.request.urlopen(f"{api}/health", timeout=2).status == 200, 120,
              "the Prefect server")
        serve = subprocess.Popen([str(BIN / "harmonise"), "serve", "--demo", "--cron", "15 3 * * *"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        deployment = _wait(lambda: _api(api, "/deployments/filter"), 90, "the nightly deployment")[0]
        assert deployment["name"] == "nightly" and deployment["parameters"] == {"demo": True}
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["15 3 * * *"]
        run = _api(api, f"/deployments/{deployment['id']}/create_flow_run")
        state = _wait(lambda: (lambda s: s if s in ("COMPLETED", "FAILED", "CRASHED") else None)(
            _api(api, "/flow_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})[0]["state_type"]),
            180, "the triggered flow run")
        assert state == "COMPLETED"
        warehouse = tmp_path / "home" / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79
        assert (tmp_path / "home" / "report" / "report.html").is_file()
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)
