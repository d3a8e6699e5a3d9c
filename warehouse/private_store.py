"""Raw quarantined values stay with the center that owns them: one private file per center.

A data manager needs to see an unknown spelling to add it to a vocabulary; nobody else
needs to. So the values as read (identifier-like ones masked even here, see
``schemas/masking.py``) are written only to ``<home>/private/<center>.quarantine.csv``,
created with mode 0600 in a 0700 folder, replaced whole at each attempt of that center.
The pooled warehouse, the report, logs and the console carry the shape only.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

PRIVATE_DIR = "private"
COLUMNS = ["center_id", "source_file", "source_row", "source_column", "column_name", "rule",
           "check_name", "failed_value", "reason"]


def store_path(home: Path, center: str) -> Path:
    """The center's private quarantine file."""
    return Path(home) / PRIVATE_DIR / f"{center}.quarantine.csv"


def write(home: Path, center: str, quarantine: pd.DataFrame, load_id: str) -> Path:
    """Replace the center's private file by ``quarantine`` (raw values), atomically, mode 0600."""
    path = store_path(home, center)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    frame = (quarantine if quarantine is not None else pd.DataFrame()).reindex(columns=COLUMNS)
    frame = frame.assign(center_id=center, load_id=load_id)
    for column in ("failed_value", "reason"):   # a spreadsheet must not run a value as a formula
        frame[column] = frame[column].map(_as_text, na_action="ignore")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _as_text(value):
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def read(home: Path, center: str) -> pd.DataFrame | None:
    """The center's private records (for ``check`` and the quality views), if readable."""
    path = store_path(home, center)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": None})
    except (FileNotFoundError, PermissionError):
        return None
