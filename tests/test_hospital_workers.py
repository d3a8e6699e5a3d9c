"""A Prefect worker per hospital, for real: a Prefect server on loopback, a process work pool,
two `prefect worker` processes (hospital A: site_a; hospital B: site_b and site_c), each with
only its own inbox, one shared DuckLake on a real PostgreSQL; the coordinator fans out, waits
for every center, freezes the data and writes the report."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harmonise.flows.settings import DEMO_INBOX, Settings
from tests.prefect_server import BIN, stop
from tests.test_ducklake import lake_env

HOSPITALS = {"hospital-a": ("site_a",), "hospital-b": ("site_b", "site_c")}


def inbox_of(root: Path, centers: tuple[str, ...]) -> Path:
    """A hospital's own inbox: only its centers' export folders."""
    inbox = root / "inbox"
    for center in centers:
        shutil.copytree(DEMO_INBOX / center, inbox / center)
    return inbox


@pytest.mark.slow
def test_two_hospital_workers_load_their_own_centers_and_the_coordinator_reports(
        tmp_path, pg_cluster, prefect_server):
    lake = Settings(home=tmp_path / "coordinator", storage="ducklake",
                    lake_catalog=pg_cluster.new_database(), lake_data_path=tmp_path / "lake")
    prefect = prefect_server.env(PREFECT_WORKER_QUERY_SECONDS="2")
    coordinator = {**prefect, **lake_env(lake),
                   "HARMONISE_INBOX": str(tmp_path / "coordinator" / "no-exports-here")}
    workers = []
    try:
        subprocess.run([str(BIN / "harmonise"), "hospitals", "deploy"], env=coordinator,
                       check=True, timeout=180, capture_output=True)
        for name, centers in HOSPITALS.items():
            env = {**prefect, **lake_env(lake), "HARMONISE_HOME": str(tmp_path / name),
                   "HARMONISE_INBOX": str(inbox_of(tmp_path / name, centers))}
            queues = [arg for center in centers for arg in ("--work-queue", center)]
            workers.append(subprocess.Popen(
                [str(BIN / "prefect"), "worker", "start", "--pool", "harmonise-hospitals",
                 "--name", name, *queues], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        run = subprocess.run([str(BIN / "harmonise"), "hospitals", "run", "--demo-key"],
                             env=coordinator, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        with lake.backend.connect(read_only=True) as con:
            patients = dict(con.execute("SELECT center_id, count(*) FROM v_patient GROUP BY 1"
                                        ).fetchall())
        assert patients == {"site_a": 52, "site_b": 16, "site_c": 11}
        runs = prefect_server.post("/flow_runs/filter",
                                   {"flow_runs": {"name": {"like_": "ingest-site_"}}})
        ran_on = {r["name"]: r["work_queue_name"] for r in runs if r["state_type"] == "COMPLETED"}
        assert ran_on == {"ingest-site_a": "site_a", "ingest-site_b": "site_b",
                          "ingest-site_c": "site_c"}
        freezes = [s for s in lake.backend.snapshots() if s.kind == "freeze"]
        assert freezes and set(freezes[0].centers) == {"site_a", "site_b", "site_c"}
        assert (tmp_path / "coordinator" / "report" / "report.html").is_file()   # after all
    finally:
        for worker in workers:
            stop(worker)
