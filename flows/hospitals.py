"""A Prefect worker per hospital: the nightly run fans out one ingestion per center.

Each hospital runs a Prefect *process worker* on its own machine, polling the work pool
``harmonise-hospitals`` for its own centers only (one work queue per center)::

    prefect worker start --pool harmonise-hospitals --work-queue site_a

The worker's environment says where that hospital's exports are (``HARMONISE_INBOX``) and
where the shared DuckLake is (``HARMONISE_STORAGE=ducklake``, ``HARMONISE_LAKE_CATALOG``,
``HARMONISE_LAKE_DATA``); every flow run it starts inherits it, so a center's exports are
read only at its own hospital. ``harmonise hospitals deploy`` registers one deployment of
:func:`ingest_center_flow` per center (queue = center); ``harmonise hospitals run`` is the
coordinator: it prepares the lake, starts every center's deployment with
``run_deployment`` (the loads run at the same time, each one DuckLake transaction), waits
for all of them, records the data freeze and writes the report.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from harmonise.flows import prefect_env
from harmonise.flows.project import current
from harmonise.flows.settings import Settings

prefect_env.configure(Settings().prefect_home)

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.deployments.runner import EntrypointType  # noqa: E402

from harmonise.flows import steps  # noqa: E402

POOL = "harmonise-hospitals"
FLOW_NAME = "ingest-center"
#: How long the coordinator waits for one center's run (a worker may be busy or slow).
CENTER_TIMEOUT_S = 6 * 3600


@flow(name=FLOW_NAME, flow_run_name="ingest-{center}")
def ingest_center_flow(center: str, run_id: str, demo_key: bool = False,
                       force: bool = False) -> dict:
    """One center's ingestion, run by its hospital's worker (settings from its environment)."""
    settings = current(**({"demo_key": True} if demo_key else {}))
    result = steps.ingest_center(center, settings, run_id, steps.pseudonym_key(settings),
                                 force=force)
    get_run_logger().info("center %s: %s", center, result.status)
    return asdict(result)


def deployments(centers: list[str], pool: str = POOL) -> list:
    """One deployment of :func:`ingest_center_flow` per center, on the center's work queue."""
    return [ingest_center_flow.to_deployment(
        name=center, work_pool_name=pool, work_queue_name=center,
        parameters={"center": center}, entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Ingest {center} at its hospital (worker queue '{center}').")
        for center in centers]


def deploy(centers: list[str], pool: str = POOL) -> list[str]:
    """Create the process work pool if missing and register every center's deployment."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
    for deployment in deployments(centers, pool):
        deployment.apply(work_pool_name=pool)
    return [f"{FLOW_NAME}/{center}" for center in centers]


@task(cache_policy=NO_CACHE, task_run_name="at-hospital-{center}")
def at_hospital(center: str, run_id: str, demo_key: bool, force: bool) -> str:
    """Start the center's deployment on its hospital's worker and wait for it to finish."""
    run = run_deployment(f"{FLOW_NAME}/{center}", timeout=CENTER_TIMEOUT_S, poll_interval=2,
                         parameters={"center": center, "run_id": run_id, "demo_key": demo_key,
                                     "force": force})
    return run.state.type.value if run.state else "UNKNOWN"


@flow(name="nightly-hospitals")
def coordinate(centers: list[str] | None = None, demo_key: bool = False, force: bool = False,
               report: bool = True) -> list[steps.CenterResult]:
    """Prepare the lake, fan out one ingestion per center, wait for all, freeze, report."""
    settings = current(**({"demo_key": True} if demo_key else {}))
    if settings.storage != "ducklake":
        raise ValueError("Workers at hospitals load one shared warehouse at the same time: set "
                         "storage: ducklake (HARMONISE_STORAGE=ducklake), see docs/operations.md.")
    run_id = steps.new_run_id()
    steps.prepare_warehouse(settings, run_id)
    names = steps.centers_to_run(settings, centers)
    started = dt.datetime.now()
    futures = {c: at_hospital.submit(c, run_id, demo_key, force) for c in names}
    states = {c: f.result() for c, f in futures.items()}
    results = [outcome(settings, run_id, c, states[c], started) for c in names]
    steps.freeze(settings, run_id, results)
    if report:
        steps.write_report(settings)
    return results


def outcome(settings: Settings, run_id: str, center: str, state: str,
            started: dt.datetime) -> steps.CenterResult:
    """What the center's run left in ``load_log`` (the warehouse is the shared record)."""
    with settings.backend.connect(read_only=True) as con:
        row = con.execute(
            "SELECT any_value(status), sum(rows_read), sum(rows_loaded), sum(rows_quarantined), "
            "any_value(message), (SELECT count(*) FROM patient WHERE center_id = ?) "
            "FROM load_log WHERE run_id = ? AND center_id = ?", [center, run_id, center]).fetchone()
    if row[0] is None:
        return steps.failed_after_retries(center, settings, run_id, started,
                                          f"its hospital's flow run ended {state}")
    status, read, loaded, quarantined, message, patients = row
    return steps.CenterResult(center, status, int(read or 0), int(loaded or 0),
                              int(quarantined or 0), int(patients or 0), message)
