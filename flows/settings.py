"""Where things are and which conventions apply to a run, in one place: the typed view of
one run's configuration.

A study's project folder (``harmonise.yaml``, ``mappings/``, ``vocab/``, ``plan.yaml``: see
``flows/project.py``) fills these fields; a field that ``harmonise.yaml`` may set names its
key with ``option(...)``, so the file's keys, their types and their documentation are said
once, here. To add a setting: add a field with a default, and ``option("section.key", ...)``
if a project may set it.

Without a project (library use, tests) the defaults are the bundled demo study's: state under
``HARMONISE_HOME`` (``var/`` of a source checkout, else ``~/.local/state/harmonise/demo``),
exports from ``<inbox>/<center>/`` (``HARMONISE_INBOX``). The demo is the example project
``demo/study/`` shipped with the package: its mappings and its exports (``inbox/``).
"""
from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from harmonise.warehouse.backend import STORAGES, StorageError, Warehouse, open_warehouse

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_ROOT   # a source checkout's root (tests and docs live there)
DEMO_PROJECT = PACKAGE_ROOT / "demo" / "study"
DEMO_INBOX = DEMO_PROJECT / "inbox"
DEMO_MAPPINGS = DEMO_PROJECT / "mappings"


def is_source_checkout() -> bool:
    """True when running from a git checkout (editable install), not an installed wheel."""
    return (PACKAGE_ROOT / "pyproject.toml").is_file() and (PACKAGE_ROOT / "flows").is_dir()


def default_home() -> Path:
    """Where the demo (and library use without a project) keeps its state; never site-packages.

    ``HARMONISE_HOME`` if set; ``var/`` of a source checkout (``make demo``); otherwise the
    user's state folder (``$XDG_STATE_HOME/harmonise/demo``, default ``~/.local/state/...``).
    """
    if home := os.environ.get("HARMONISE_HOME"):
        return Path(home)
    if is_source_checkout():
        return PACKAGE_ROOT / "var"
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "harmonise" / "demo"


def _demo_cutoff() -> dt.date:
    from harmonise.demo.cohort import CUTOFF   # said once: the example project's harmonise.yaml
    return CUTOFF


def option(key: str, default=None, *, doc: str, default_factory=None, minimum: int | None = None,
           choices: tuple[str, ...] | None = None):
    """A field ``harmonise.yaml`` may set, under ``key`` (``section.name``); ``choices``: the
    words a list of words (a ``tuple[str, ...]`` field) may hold."""
    metadata = {"key": key, "doc": doc, "minimum": minimum, "choices": choices}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Paths and study conventions of one run."""

    home: Path = option("paths.state", default_factory=default_home,
                        doc="Run state: logs, run lock, DuckLake data (default var).")
    inbox: Path | None = option("paths.inbox", doc="Folder of <center>/ export folders (default inbox).")
    warehouse: Path | None = option("paths.warehouse", doc="The warehouse file (default <state>/warehouse.duckdb).")
    report: Path | None = option("paths.report", doc="Report folder (default <state>/report).")
    prefect: Path | None = option("paths.prefect", doc="Prefect's own state (default <state>/prefect).")
    study: str = option("study", "", doc="The study's name, shown in the report.")
    cutoff: dt.date = option("cutoff", default_factory=_demo_cutoff,
                             doc="Data cut-off (YYYY-MM-DD): later dates are rejected, follow-up censored.")
    demo_key: bool = option("pseudonym.demo_key", False,
                            doc="Use the PUBLIC demo key: synthetic data only.")
    key_env: str | None = option("pseudonym.key_env",
                                 doc="Name of the environment variable holding the key.")
    key_file: Path | None = option("pseudonym.key_file", doc="File holding the key (keep it outside the project).")
    small_cell_threshold: int = option("report.small_cell_threshold", 5, minimum=1,
                                       doc="Counts below this are masked in a shareable report.")
    figure_formats: tuple[str, ...] = option(
        "report.figure_formats", ("svg",), choices=("svg", "png"),
        doc="Files of each figure panel: [svg] (default; the page shows it), [svg, png] to also "
            "write a PNG at 300 dpi for a journal.")
    #: The project folder these settings come from (None: the library defaults, i.e. the demo).
    project: Path | None = None
    mappings_dir: Path = DEMO_MAPPINGS
    #: The project's ``vocab/``: spellings the study adds to the built-in vocabularies.
    vocab_dir: Path | None = None
    #: The project's ``codes.yaml``: codes the study adds to the built-in code lists.
    codes_file: Path | None = None
    #: The project's analysis plan (``plan.yaml``).
    plan_file: Path | None = DEMO_PROJECT / "plan.yaml"
    #: IANA time zone of the nightly cron (``harmonise serve``): 02:00 means 02:00 there.
    timezone: str = option("schedule.timezone", "UTC", doc="IANA time zone of the nightly cron.")
    #: ``embedded`` (one DuckDB file, ``warehouse``) or ``ducklake`` (catalog in PostgreSQL,
    #: Parquet under ``lake_data_path``): see docs/operations.md, "Scaling out".
    storage: str = option("storage.backend", "", doc="embedded (one DuckDB file) or ducklake.")
    #: libpq connection string of the DuckLake catalog, e.g. "dbname=harmonise host=db user=h".
    lake_catalog: str | None = option("storage.lake_catalog", doc="libpq connection string of the DuckLake catalog.")
    #: Folder (or shared mount) holding the DuckLake's Parquet files (default <home>/lake).
    lake_data_path: Path | None = option("storage.lake_data_path", doc="Folder of the DuckLake's Parquet files.")
    max_patient_drop: float = option(
        "safety.max_patient_drop", 0.5,
        doc="A load removing more than this fraction of a center's patients fails (the previous "
            "rows stay) unless confirmed with --accept-drop; a load of 0 patients always fails.")
    center_time_limit_s: float = option(
        "safety.center_time_limit_s", 1800.0,
        doc="Seconds one center may take to map and validate; a center over it fails alone.")
    #: Per-center overrides of ``center_time_limit_s`` (center id -> seconds).
    center_time_limits: dict[str, float] = field(default_factory=dict)
    allow_symlinks: bool = option("safety.allow_symlinks", False,
                                  doc="Follow symbolic links inside a center's inbox folder.")
    duplicate_fields: str = option(
        "safety.duplicate_fields", "patient.sex, patient.age_years, patient.histology, treatment.start_date",
        doc="Quasi-identifiers (table.column, comma-separated; dates by month) whose keyed "
            "fingerprint flags a patient seen at two centers.")
    min_free_mb: int = option("safety.min_free_mb", 200, minimum=0,
                              doc="Megabytes a run needs free besides a copy of the warehouse; "
                                  "with less it does not start.")
    file_mode: int = option("safety.file_mode", 0o640,
                            doc="Permission bits of the warehouse and report files (e.g. 0o640).")

    def __post_init__(self):
        home = Path(self.home)
        inbox = self.inbox or os.environ.get("HARMONISE_INBOX", home / "inbox")
        warehouse = self.warehouse or os.environ.get("HARMONISE_WAREHOUSE", home / "warehouse.duckdb")
        object.__setattr__(self, "home", home)
        object.__setattr__(self, "inbox", Path(inbox))
        object.__setattr__(self, "warehouse", Path(warehouse))
        storage = self.storage or os.environ.get("HARMONISE_STORAGE", "embedded")
        if storage not in STORAGES:
            raise StorageError(f"Unknown storage '{storage}': use one of {', '.join(STORAGES)}.")
        object.__setattr__(self, "storage", storage)
        object.__setattr__(self, "lake_catalog",
                           self.lake_catalog or os.environ.get("HARMONISE_LAKE_CATALOG") or None)
        data = self.lake_data_path or os.environ.get("HARMONISE_LAKE_DATA", home / "lake")
        object.__setattr__(self, "lake_data_path", Path(data))

    @property
    def backend(self) -> Warehouse:
        """The warehouse these settings name (a local file, or the DuckLake)."""
        return open_warehouse(self.storage, path=self.warehouse, lake_catalog=self.lake_catalog,
                              lake_data_path=self.lake_data_path)

    def time_limit_of(self, center: str) -> float:
        """Seconds ``center`` may take to map and validate."""
        return float(self.center_time_limits.get(center, self.center_time_limit_s))

    @property
    def analysis_plan(self) -> Path:
        """The study's ``plan.yaml``: the project's, or the example project's (the demo)."""
        return Path(self.plan_file) if self.plan_file is not None else DEMO_PROJECT / "plan.yaml"

    @property
    def analysis_views(self) -> list[str]:
        """The analysis views of the study's plan (``plan.yaml``), as SQL for the warehouse."""
        from harmonise.analysis.plan import load_plan
        from harmonise.analysis.plan_sql import view_statements
        return view_statements(load_plan(self.analysis_plan))

    @property
    def report_dir(self) -> Path:
        """``report`` if set; ``<home>/report`` for the home's warehouse; ``<stem>-report/`` beside any other one."""
        if self.report is not None:
            return Path(self.report)
        if self.warehouse == self.home / "warehouse.duckdb":
            return self.home / "report"
        return self.warehouse.with_name(f"{self.warehouse.stem}-report")

    @property
    def log_dir(self) -> Path:
        """One log file per run: ``<home>/logs/<run id>.log``."""
        return self.home / "logs"

    @property
    def prefect_home(self) -> Path:
        return Path(self.prefect) if self.prefect is not None else self.home / "prefect"

    @classmethod
    def demo(cls, **overrides) -> "Settings":
        """The bundled example project, read in place; its state under ``default_home()``."""
        from harmonise.flows.project import demo_settings
        return demo_settings(**overrides)


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else ValueError saying so."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not a known time zone: use an IANA name such as "
                         "Europe/Paris or UTC.") from None
    return name
