"""The ``nightly`` Prefect flow: prepare the warehouse, ingest each center, refresh the views.

Each center is its own task, so one center's failure never stops the others; only
transient I/O errors (a file still being copied, a locked warehouse) are retried. With more
than one core the center tasks run side by side: each maps and validates its center in a
worker process and loads it under the single writer's lock (``pipeline/pool.py``).
The flow runs without a Prefect server (Prefect starts a temporary local one).
"""
from __future__ import annotations

import contextlib
import datetime as dt

import duckdb

from harmonise.flows import prefect_env
from harmonise.flows.settings import Settings

prefect_env.configure(Settings().prefect_home)

from prefect import flow, get_run_logger, task  # noqa: E402  (after the environment is set)
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.states import Completed, Failed  # noqa: E402

from harmonise.flows import artifacts, progress, runlog, steps  # noqa: E402
from harmonise.flows.output import VERBOSE, verbosity  # noqa: E402
from harmonise.flows.runlock import run_lock  # noqa: E402
from harmonise.warehouse import quality  # noqa: E402

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
def ingest(center: str, settings: Settings, run_id: str, force: bool = False,
           accept_drop: bool = False, workers: steps.CenterWorkers | None = None):
    """One center; a center that fails ends this task Failed (the flow goes on with the others).
    ``workers``: build the center in one of these worker processes (loads stay serial)."""
    key = steps.pseudonym_key(settings)
    result = (workers.ingest(center, settings, run_id, key, force=force, accept_drop=accept_drop)
              if workers is not None else
              steps.ingest_center(center, settings, run_id, key, force=force,
                                  accept_drop=accept_drop))
    line = progress.describe(result)
    if result.status == "failed":
        get_run_logger().error(_plain(line))
        return Failed(message=f"{center} failed: {result.message}", data=result)
    get_run_logger().info(_plain(line))
    return result


@task(cache_policy=NO_CACHE, task_run_name="prepare")
def prepare(settings: Settings, run_id: str = "") -> None:
    steps.prepare_warehouse(settings, run_id)


@task(cache_policy=NO_CACHE, task_run_name="freeze")
def freeze(settings: Settings, run_id: str, results: list[steps.CenterResult]) -> None:
    steps.freeze(settings, run_id, results)


@task(cache_policy=NO_CACHE, task_run_name="refresh-views")
def refresh_views(settings: Settings) -> None:
    steps.refresh_views(settings)


@task(cache_policy=NO_CACHE, task_run_name="publish")
def publish(build: Settings, settings: Settings) -> None:
    steps.publish_build(build, settings)
    get_run_logger().info(f"published {settings.warehouse}")


@task(cache_policy=NO_CACHE, task_run_name="report")
def report(settings: Settings) -> str:
    path = str(steps.write_report(settings))
    get_run_logger().info(f"report written: {path}")
    return path


@task(cache_policy=NO_CACHE, task_run_name="artifacts")
def publish_artifacts(results: list[steps.CenterResult], settings: Settings, run_id: str) -> None:
    """The run summary table and the data-quality changes, as Prefect artifacts."""
    artifacts.publish_summary(results, run_id)
    with settings.backend.connect(read_only=True) as con:
        artifacts.publish_quality(quality.changes(con), run_id)


def _run_name() -> str:
    return f"nightly-{dt.datetime.now():%Y-%m-%d-%H%M%S}"


@flow(name="nightly", flow_run_name=_run_name,
      task_runner=ThreadPoolTaskRunner(max_workers=steps.default_workers() + 1))
def nightly(centers: list[str] | None = None, cutoff: str | None = None, demo: bool = False,
            inbox: str | None = None, warehouse: str | None = None, force: bool = False,
            wait: bool = False, project: str | None = None, accept_drop: bool = False):
    """Ingest every center (or ``centers``) into a copy of the warehouse, then publish it.

    Parameters are plain values so that a deployment can set them: ``cutoff`` as
    YYYY-MM-DD, ``demo`` to run the bundled example project, ``project`` the study's project
    folder (default: found from the current folder), ``force`` to reload unchanged exports,
    ``wait`` to wait for a run already going, ``accept_drop`` to confirm loads that would
    remove most of a center's patients.
    The run ends Failed when any center failed (the others are still loaded and published);
    either way its data is the list of ``CenterResult`` (``results_of(state)``).
    """
    runlog.quiet_run_loggers_on_console(show=verbosity() >= VERBOSE)
    logger = get_run_logger()
    settings = run_settings(cutoff=cutoff, demo=demo, inbox=inbox, warehouse=warehouse, project=project)
    steps.pseudonym_key(settings)  # fail the whole run at once if there is no key
    display = progress.current()
    with run_lock(steps.lock_path(settings), wait=wait):
        run_id = steps.new_run_id()
        with runlog.log_file(settings.log_dir, run_id) as log_path:
            todo = steps.centers_to_run(settings, centers)
            logger.info(f"run {run_id}: {len(todo)} center(s) into {settings.warehouse}; log {log_path}")
            display.start(todo)
            with _builders(todo) as pool:   # their processes start while the copy is made
                build = steps.begin_build(settings)
                prepare(build, run_id)
                results = _ingest_all(todo, build, run_id, force, display, accept_drop, pool)
            display.step("publishing the warehouse")
            refresh_views(build)
            freeze(build, run_id, results)
            publish(build, settings)
            publish_artifacts(results, settings, run_id, return_state=True)
            if any(r.status != "skipped" for r in results) or not steps.report_exists(settings):
                display.step("writing the report")
                written = report(settings, return_state=True)  # a report problem never undoes a load
                if written.is_completed():
                    display.step(f"Report: {written.result()}")
                else:
                    display.problem(f"The report could not be written: {written.message}")
            display.finish()
            failed = [r.center for r in results if r.status == "failed"]
            if failed:
                message = (f"{len(failed)} of {len(results)} centers failed ({', '.join(failed)}); "
                           "the others were loaded and published")
                logger.error(message)
                return Failed(message=message, data=results)
            logger.info(f"all {len(results)} centers loaded or unchanged")
            return Completed(message=f"{len(results)} centers loaded or unchanged", data=results)


def _builders(todo: list[str]):
    """The worker processes that build centers side by side (``steps.CenterWorkers``), or
    none (``None``) on one core or for a single center."""
    workers = steps.default_workers()
    if workers <= 1 or len(todo) < 2:
        return contextlib.nullcontext(None)
    return steps.CenterWorkers(workers)


def _ingest_all(todo: list[str], build: Settings, run_id: str, force: bool, display,
                accept_drop: bool = False, pool: steps.CenterWorkers | None = None
                ) -> list[steps.CenterResult]:
    """One ``ingest`` task per center, results in the order of ``todo``: one after another
    without ``pool``; with it, side by side (builds in its processes, loads one at a time)."""
    if pool is None:
        return [_finished(center, build, run_id, display, dt.datetime.now(),
                          ingest(center, build, run_id, force, accept_drop, return_state=True))
                for center in todo]
    started = dt.datetime.now()
    futures = [(center, ingest.submit(center, build, run_id, force, accept_drop, pool))
               for center in todo]
    results = []
    for center, future in futures:
        display.center_started(center)
        future.wait()
        results.append(_finished(center, build, run_id, display, started, future.state))
    return results


def _finished(center: str, build: Settings, run_id: str, display, started: dt.datetime,
              state) -> steps.CenterResult:
    result = state.result(raise_on_failure=False)
    if not isinstance(result, steps.CenterResult):  # the task itself raised, after retries
        result = steps.failed_after_retries(center, build, run_id, started, state.message)
    display.center_finished(result)
    return result


def results_of(state) -> list[steps.CenterResult]:
    """The results of a finished ``nightly`` run; re-raises what stopped a run that never ran."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, list):
        return data
    raise data if isinstance(data, BaseException) else RuntimeError(state.message)


def _plain(markup: str) -> str:
    """A progress line without its rich markup, for Prefect's logs and the log file."""
    from rich.text import Text
    return Text.from_markup(markup).plain


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
