"""Shared fixtures: real files, a real DuckDB warehouse built from the demo exports."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from harmonise.flows import steps
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, PROJECT_ROOT, Settings

PUBLISHED = PROJECT_ROOT / "demo" / "study" / "published.yaml"


def patients_mapping(columns: str, center: str = "x_site", name: str = "p.csv", options: str = "") -> str:
    """A mapping file with one patients file ``name`` whose ``columns:`` are ``columns`` (YAML
    lines indented by six spaces, as in ``MINIMAL_COLUMNS``); ``options``: the file entry's
    other keys (lines indented by four)."""
    return (f"center: {center}\nfiles:\n  - role: patients\n    name: {name}\n{options}"
            "    columns:\n" + columns)


#: The columns of the smallest valid mapping: the record number and one coded column.
MINIMAL_COLUMNS = """\
      ID: {identifier: pseudonymise}
      SEX: {to: patient.sex, vocab: sex}
"""
#: The smallest valid mapping file (center x_site): tests break it one key at a time.
MINIMAL_MAPPING = patients_mapping(MINIMAL_COLUMNS)


def write_center(tmp_path: Path, yaml_text: str, files: dict, center: str = "x_site"):
    """Write ``<tmp_path>/mappings/<center>.yaml`` and the center's export files under
    ``<tmp_path>/inbox/<center>/`` (bytes as they are, a DataFrame as an Excel sheet named
    数据); return the loaded mapping."""
    import textwrap

    import pandas as pd

    from harmonise.mappings.spec import load_mapping
    mappings = tmp_path / "mappings"
    mappings.mkdir(exist_ok=True)
    (mappings / f"{center}.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    inbox = tmp_path / "inbox" / center
    inbox.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            with pd.ExcelWriter(inbox / name, engine="openpyxl") as writer:
                content.to_excel(writer, sheet_name="数据", index=False)
        else:
            (inbox / name).write_bytes(content)
    return load_mapping(center, mappings)


def study_workspace(tmp_path: Path, center: str) -> Settings:
    """Settings over a copy of the demo study's mappings/ and inbox/, with an empty
    ``inbox/<center>/`` for a center being onboarded (demo key, fresh home)."""
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    (inbox / center).mkdir()
    return Settings(home=tmp_path / "home", inbox=inbox, mappings_dir=mappings, demo_key=True)


def pytest_configure(config):
    """Keep Prefect's state and the default home out of the repository and the user's home."""
    import tempfile
    home = Path(tempfile.mkdtemp(prefix="harmonise-test-"))
    os.environ.setdefault("HARMONISE_HOME", str(home))
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    for name in ("HARMONISE_PSEUDONYM_KEY", "HARMONISE_PSEUDONYM_KEY_FILE", "PREFECT_API_URL"):
        os.environ.pop(name, None)
    # Prefect stops its temporary server at interpreter exit, after pytest has closed the
    # captured streams; do not print a traceback for that last log line.
    import logging
    logging.raiseExceptions = False


def ingest_all(settings: Settings, force: bool = False, centers: list[str] | None = None
               ) -> dict[str, steps.CenterResult]:
    """Run the whole pipeline (without Prefect) for every mapped center (or ``centers``)."""
    steps.prepare_warehouse(settings)
    run_id, key = steps.new_run_id(), steps.pseudonym_key(settings)
    results = {c: steps.ingest_center(c, settings, run_id, key, force=force)
               for c in steps.centers_to_run(settings, centers)}
    steps.refresh_views(settings)
    return results


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One real Prefect server on loopback for the whole session (UI on, telemetry off)."""
    from tests import prefect_server as server
    running = server.start(tmp_path_factory.mktemp("prefect_server"))
    yield running
    server.stop(running.process)


@pytest.fixture(scope="session")
def published() -> dict:
    """The reference study's published numbers (after demo/study/ERRATA.md), as project data."""
    return yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    """A warehouse file holding the three demo centers (built once per test session)."""
    home = tmp_path_factory.mktemp("demo_home")
    settings = Settings.demo(home=home)
    results = ingest_all(settings)
    assert all(r.status == "loaded" for r in results.values()), results
    return settings.warehouse


@pytest.fixture
def demo_con(demo_warehouse):
    """A read-only connection to the session's demo warehouse."""
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def _published_demo_home(tmp_path_factory) -> Path:
    """A home whose warehouse one run (build, load the three demo centers, publish) wrote."""
    root = tmp_path_factory.mktemp("published_demo")
    shutil.copytree(DEMO_INBOX, root / "inbox")
    settings = Settings(home=root / "home", inbox=root / "inbox", demo_key=True)
    build = steps.begin_build(settings)
    results = ingest_all(build)
    steps.publish_build(build, settings)
    assert all(r.status == "loaded" for r in results.values()), results
    return settings.home


@pytest.fixture
def published_copy(_published_demo_home, settings_for, inbox_copy) -> Settings:
    """Settings of ``settings_for(inbox_copy)`` after one run over the demo exports: a private
    copy of a home built once per session (copying the files is what the run would write)."""
    settings = settings_for(inbox_copy)
    shutil.copytree(_published_demo_home, settings.home, symlinks=True)
    return settings


@pytest.fixture
def inbox_copy(tmp_path) -> Path:
    """A private copy of the demo exports that a test may damage."""
    target = tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, target)
    return target


@pytest.fixture
def settings_for(tmp_path):
    """Settings for a private demo-key run reading ``inbox`` into a fresh warehouse."""
    def make(inbox: Path, **overrides) -> Settings:
        return Settings(home=tmp_path / "home", inbox=inbox, demo_key=True, **overrides)
    return make


@pytest.fixture(scope="session")
def demo_report(demo_warehouse, tmp_path_factory) -> Path:
    """The demo warehouse's report, written once per session (paper comparison by default)."""
    from harmonise.analysis.report import write_report
    return write_report(demo_warehouse, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="session")
def report_json(demo_report) -> dict:
    """The demo report's ``numbers/report.json``, parsed strictly (no NaN or Infinity)."""
    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")
    text = (demo_report.parent / "numbers" / "report.json").read_text(encoding="utf-8")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="session")
def damaged_warehouse(tmp_path_factory) -> Path:
    """The demo with three bad adverse-event rows at site_a (two grades 9, one onset date that
    is not a date): a real run quarantines them and keeps every patient."""
    root = tmp_path_factory.mktemp("damaged")
    inbox = root / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    path = inbox / "site_a" / "site_a_adverse_events.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in (1, 2):
        cells = lines[i].split(",")
        lines[i] = ",".join(cells[:2] + ["9"] + cells[3:])
    cells = lines[3].split(",")
    lines[3] = ",".join(cells[:3] + ["not a date\n"])
    path.write_text("".join(lines), encoding="utf-8")
    settings = Settings(home=root / "home", inbox=inbox, demo_key=True)
    results = ingest_all(settings)
    assert all(r.status == "loaded" for r in results.values()), results
    return settings.warehouse


@pytest.fixture(scope="session")
def pg_cluster():
    """A real PostgreSQL cluster on loopback for DuckLake catalogs (stopped by its own pid)."""
    from tests.pg_cluster import PostgresCluster
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def demo_lake(pg_cluster, tmp_path_factory) -> Settings:
    """The three demo centers loaded into one DuckLake (once per session)."""
    root = tmp_path_factory.mktemp("demo_lake")
    settings = Settings(home=root / "home", inbox=DEMO_INBOX, demo_key=True, storage="ducklake",
                        lake_catalog=pg_cluster.new_database(), lake_data_path=root / "lake")
    results = ingest_all(settings)
    assert {r.status for r in results.values()} == {"loaded"}, results
    return settings


def lake_env(settings: Settings) -> dict[str, str]:
    """The environment a child process (a worker, a CLI call) needs to reach the same lake."""
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HARMONISE_HOME": str(settings.home),
            "HARMONISE_STORAGE": "ducklake", "HARMONISE_LAKE_CATALOG": settings.lake_catalog,
            "HARMONISE_LAKE_DATA": str(settings.lake_data_path)}


@pytest.fixture
def lake_settings_for(tmp_path, pg_cluster):
    """Settings for a demo-key run into a fresh DuckLake (its own catalog database)."""
    def make(inbox: Path = DEMO_INBOX, **overrides) -> Settings:
        return Settings(home=tmp_path / "home", inbox=inbox, demo_key=True, storage="ducklake",
                        lake_catalog=pg_cluster.new_database(), lake_data_path=tmp_path / "lake",
                        **overrides)
    return make
