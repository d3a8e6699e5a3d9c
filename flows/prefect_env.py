"""Prefect's environment, set before Prefect is imported: quiet, local, no phoning home.

- Telemetry off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED=false``): every
  temporary server start otherwise posts to an outside host.
- Prefect's database and settings under the project's state folder (``var/prefect``)
  instead of ``~/.prefect``, unless the user set ``PREFECT_HOME`` or ``PREFECT_API_URL``.
- A longer start-up timeout for the temporary server on small, busy machines.
Values the user already set are kept.
"""
from __future__ import annotations

import os
from pathlib import Path


def configure(prefect_home: Path) -> None:
    """Set Prefect's environment variables (only those not already set)."""
    defaults = {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_SERVER_LEVEL": "WARNING",
        "PREFECT_UI_ENABLED": "false",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
