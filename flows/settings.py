"""Where things are and which conventions apply to a run, in one place.

Defaults keep everything inside the project: the warehouse, the quarantine, logs and
Prefect's own state live under ``var/`` (override with ``HARMONISE_HOME``), exports are
read from ``<inbox>/<center>/`` (``HARMONISE_INBOX``). The demo is the example project
``demo/study/`` shipped with the package: its mappings and its exports (``inbox/``).
"""
from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from harmonise.warehouse.backend import STORAGES, StorageError, Warehouse, open_warehouse
from harmonise.warehouse.store import DEFAULT_CUTOFF

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_PROJECT = PROJECT_ROOT / "demo" / "study"
DEMO_INBOX = DEMO_PROJECT / "inbox"
DEMO_MAPPINGS = DEMO_PROJECT / "mappings"


def _home() -> Path:
    return Path(os.environ.get("HARMONISE_HOME", PROJECT_ROOT / "var"))


@dataclass(frozen=True)
class Settings:
    """Paths and study conventions of one run."""

    home: Path = field(default_factory=_home)
    inbox: Path | None = None
    warehouse: Path | None = None
    mappings_dir: Path = DEMO_MAPPINGS
    cutoff: dt.date = DEFAULT_CUTOFF
    demo_key: bool = False
    #: IANA time zone of the nightly cron (``harmonise serve``): 02:00 means 02:00 there.
    timezone: str = "UTC"
    #: ``embedded`` (one DuckDB file, ``warehouse``) or ``ducklake`` (catalog in PostgreSQL,
    #: Parquet under ``lake_data_path``): see docs/operations.md, "Scaling out".
    storage: str = ""
    #: libpq connection string of the DuckLake catalog, e.g. "dbname=harmonise host=db user=h".
    lake_catalog: str | None = None
    #: Folder (or shared mount) holding the DuckLake's Parquet files (default <home>/lake).
    lake_data_path: Path | None = None

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

    @property
    def report_dir(self) -> Path:
        """``<home>/report`` for the home's warehouse; ``<stem>-report/`` beside any other one."""
        if self.warehouse == self.home / "warehouse.duckdb":
            return self.home / "report"
        return self.warehouse.with_name(f"{self.warehouse.stem}-report")

    @property
    def log_dir(self) -> Path:
        """One log file per run: ``<home>/logs/<run id>.log``."""
        return self.home / "logs"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @classmethod
    def demo(cls, **overrides) -> "Settings":
        """The bundled synthetic demo: demo exports and the public demo key."""
        return cls(**{"inbox": DEMO_INBOX, "demo_key": True, **overrides})


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else ValueError saying so."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not a known time zone: use an IANA name such as "
                         "Europe/Paris or UTC.") from None
    return name
