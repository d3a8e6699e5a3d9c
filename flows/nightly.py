"""The ``nightly`` Prefect flow: prepare the warehouse, ingest each center, refresh the views.

Each center is its own task, so one center's failure never stops the others; only
transient I/O errors (a file still being copied, a locked warehouse) are retried.
The flow runs without a Prefect server (Prefect starts a temporary local one).
"""
from __future__ import annotations

import datetime as dt

import duckdb

from harmonise.flows import prefect_env
from harmonise.flows.settings import Settings

prefect_env.configure(Settings().prefect_home)

from prefect import flow, task  # noqa: E402  (after the environment is set)
from prefect.cache_policies import NO_CACHE  # noqa: E402

from harmonise.flows import steps  # noqa: E402
from harmonise.flows.progress import show_report, show_result  # noqa: E402
from harmonise.flows.runlock import run_lock  # noqa: E402

DEFAULT_CRON = "0 2 * * *"
TRANSIENT_ERRORS = (OSError, duckdb.IOException)


def is_transient(task_, task_run, state) -> bool:
    """Retry only I/O hiccups; a wrong export or mapping will not fix itself by waiting."""
    try:
        state.result()
    except TRANSIENT_ERRORS:
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=10, retry_condition_fn=is_transient, cache_policy=NO_CACHE,
      task_run_name="ingest-{center}")
def ingest(center: str, settings: Settings, run_id: str, force: bool = False) -> steps.CenterResult:
    return steps.ingest_center(center, settings, run_id, steps.pseudonym_key(settings), force=force)


@task(cache_policy=NO_CACHE)
def prepare(settings: Settings, run_id: str = "") -> None:
    steps.prepare_warehouse(settings, run_id)


@task(cache_policy=NO_CACHE)
def freeze(settings: Settings, run_id: str, results: list[steps.CenterResult]) -> None:
    steps.freeze(settings, run_id, results)


@task(cache_policy=NO_CACHE)
def refresh_views(settings: Settings) -> None:
    steps.refresh_views(settings)


@task(cache_policy=NO_CACHE)
def publish(build: Settings, settings: Settings) -> None:
    steps.publish_build(build, settings)


@task(cache_policy=NO_CACHE)
def report(settings: Settings) -> str:
    return str(steps.write_report(settings))


@flow(name="nightly")
def nightly(centers: list[str] | None = None, cutoff: str | None = None, demo: bool = False,
            inbox: str | None = None, warehouse: str | None = None, force: bool = False,
            wait: bool = False, project: str | None = None) -> list[steps.CenterResult]:
    """Ingest every center (or ``centers``) into a copy of the warehouse, then publish it.

    Parameters are plain values so that a deployment can set them: ``cutoff`` as
    YYYY-MM-DD, ``demo`` to run the bundled example project, ``project`` the study's project
    folder (default: found from the current folder), ``force`` to reload unchanged exports,
    ``wait`` to wait for a run already going.
    """
    settings = run_settings(cutoff=cutoff, demo=demo, inbox=inbox, warehouse=warehouse, project=project)
    steps.pseudonym_key(settings)  # fail the whole run at once if there is no key
    with run_lock(steps.lock_path(settings), wait=wait):
        run_id = steps.new_run_id()
        build = steps.begin_build(settings)
        prepare(build, run_id)
        results = []
        for center in steps.centers_to_run(settings, centers):
            started = dt.datetime.now()
            state = ingest(center, build, run_id, force, return_state=True)
            result = state.result() if state.is_completed() else steps.failed_after_retries(
                center, build, run_id, started, state.message)
            show_result(result)
            results.append(result)
        refresh_views(build)
        freeze(build, run_id, results)
        publish(build, settings)
        written = report(settings, return_state=True)  # a report problem never undoes a load
        show_report(written.result() if written.is_completed() else None, written.message)
    return results


def run_settings(cutoff: str | None = None, demo: bool = False, inbox: str | None = None,
                 warehouse: str | None = None, project: str | None = None) -> Settings:
    """Settings from the flow's plain parameters (the project's, with these overrides)."""
    from harmonise.flows.project import resolve
    options = {}
    if cutoff:
        options["cutoff"] = dt.date.fromisoformat(cutoff)
    if inbox:
        options["inbox"] = inbox
    if warehouse:
        options["warehouse"] = warehouse
    return resolve(project, demo=demo, **options)


def build_deployment(cron: str = DEFAULT_CRON, name: str = "nightly", timezone: str | None = None,
                     **parameters):
    """The scheduled deployment of ``nightly`` (built without a server; ``serve`` runs it).

    The cron is read in ``timezone`` (default ``Settings().timezone``), never left implicit.
    """
    from prefect.schedules import Cron
    zone = timezone or Settings().timezone
    return nightly.to_deployment(name=name, schedule=Cron(cron, timezone=zone), parameters=parameters)
