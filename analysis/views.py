"""Read the warehouse's analysis views into pandas frames.

Every function takes an open DuckDB connection (read-only is enough) and returns a
DataFrame or a plain value. Only the views and reference tables are read: ``v_patient``,
``v_response``, ``v_adverse_event_worst``, ``ref_code`` and ``study_config``.
"""
from __future__ import annotations

import contextlib
import datetime as dt

import duckdb
import pandas as pd


CODED_MAX = 10_000
"""A text column with at most this many distinct values is read as a pandas categorical."""


STORED_MEMORY = "400MB"
"""DuckDB's memory while :func:`materialised` holds ``v_patient``: its rows beyond this (a
million patients store about 400 MB) wait in a private temporary folder, so the report's
pandas frames and DuckDB's stored rows do not add up past 1 GB."""


@contextlib.contextmanager
def materialised(con: duckdb.DuckDBPyConnection, memory: str | None = STORED_MEMORY):
    """Within the block, ``v_patient`` is computed once for everything read through ``con``.

    A temporary table of the same name shadows the view (DuckDB looks in ``temp`` first),
    so the report's frames, Table 1, the provenance and the views built on ``v_patient``
    (``v_response``, ``v_adverse_event``) read the stored rows instead of re-running its
    joins each time. Works on a read-only connection (temporary tables live in memory);
    the warehouse itself is not changed. (Its text columns stay ``VARCHAR``: the views
    built on it are bound to those types.) DuckDB's memory is capped at ``memory`` in the
    block: rows beyond it spill to the connection's ``temp_directory`` (the report sets a
    private one). On leaving, the table is dropped and the memory limit restored.
    ``memory=None``: no cap (a connection of a shared instance, e.g. a DuckLake's).
    """
    saved = _memory_limit(con) if memory is not None else None
    if memory is not None:
        con.execute("SET memory_limit = ?", [memory])
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE v_patient AS SELECT * FROM "
                    f"{_quoted(_current(con))}.v_patient")
        yield con
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.v_patient")
        if memory is not None:
            con.execute("RESET memory_limit")   # exact when it was DuckDB's default
            if _memory_limit(con) != saved:     # a caller's limit, to its printed precision
                con.execute("SET memory_limit = ?", [saved])


def _memory_limit(con) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def _current(con) -> tuple[str, str]:
    return con.execute("SELECT current_database(), current_schema()").fetchall()[0]


def _quoted(names) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in names)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _coded(con, relation: str, leave_out: tuple[str, ...] = ()) -> str:
    """The select list of ``relation``'s columns (but ``leave_out``), each text column of
    1 to :data:`CODED_MAX` distinct values cast to an ``ENUM`` of its sorted values (NULL
    stays NULL; read as a pandas categorical)."""
    columns = [(name, kind) for name, kind, *_ in con.execute(
        f"DESCRIBE SELECT * FROM {relation}").fetchall() if name not in leave_out]
    text = [name for name, kind in columns if kind == "VARCHAR"]
    distinct = dict(zip(text, con.execute(
        "SELECT " + ", ".join(f'count(DISTINCT "{c}")' for c in text)
        + f" FROM {relation}").fetchall()[0])) if text else {}
    select = []
    for name, _kind in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if 0 < distinct.get(name, 0) <= CODED_MAX:
            values = [v for (v,) in con.execute(
                f"SELECT DISTINCT {quoted} FROM {relation} WHERE {quoted} IS NOT NULL "
                "ORDER BY 1").fetchall()]
            quoted = (f"CAST({quoted} AS ENUM({', '.join(map(_literal, values))})) "
                      f"AS {quoted}")
        select.append(quoted)
    return ", ".join(select)


CHUNK_VECTORS = 64
"""A frame is handed to pandas this many DuckDB vectors (2,048 rows each) at a time."""


def frame(con: duckdb.DuckDBPyConnection, relation: str, order: str,
          leave_out: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of ``relation`` ordered by ``order``, text columns of few distinct values as
    pandas categoricals (:func:`_coded`; NULL stays missing): one small code per row
    instead of a Python string, so a million patients fit in about 120 MB. ``leave_out``:
    columns not read (still usable in ``order``). Read in chunks of
    :data:`CHUNK_VECTORS` vectors, so DuckDB never holds the whole result besides the
    frame."""
    result = con.execute(f"SELECT {_coded(con, relation, leave_out)} FROM {relation} "
                         f"ORDER BY {order}")
    parts = [result.fetch_df_chunk(CHUNK_VECTORS)]
    while len(parts[-1]):
        parts.append(result.fetch_df_chunk(CHUNK_VECTORS))
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts[:-1], ignore_index=True)


def patients(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``v_patient``: one row per patient, ordered by center and patient key.

    Times: ``pfs_days``/``os_days`` in days, ``pfs_months``/``os_months`` in months
    (days / the plan's ``days_per_month``); ``pfs_event``/``os_event`` are booleans (True =
    event observed). The derived groupings are the plan's (see :mod:`analysis.plan_sql`).
    Text columns are categoricals (:func:`frame`); the pseudonymous ``patient_key`` is not
    read (no analysis needs it).
    """
    return frame(con, "v_patient", "center_id, patient_key", leave_out=("patient_key",))


def responses(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``v_response``: one row per patient with best response and the ORR/DCR flags
    (text columns as categoricals, no ``patient_key``)."""
    return frame(con, "v_response", "center_id, patient_key", leave_out=("patient_key",))


def adverse_events_worst(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``v_adverse_event_worst``: one row per patient per AE term, at the worst grade."""
    return con.sql("SELECT * FROM v_adverse_event_worst "
                   "ORDER BY center_id, patient_key, term").df()


def labels(con: duckdb.DuckDBPyConnection, vocabulary: str) -> dict[str, str]:
    """``{code: label}`` of one ``ref_code`` vocabulary, in the vocabulary's sort order."""
    rows = con.execute("SELECT code, label FROM ref_code WHERE vocabulary = ? "
                       "ORDER BY sort_order, code", [vocabulary]).fetchall()
    return dict(rows)


def cutoff_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The study's data cut-off (``study_config.cutoff_date``), or None when unset."""
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open and blocks the next query
    rows = con.execute("SELECT value FROM study_config WHERE key = 'cutoff_date'").fetchall()
    return dt.date.fromisoformat(rows[0][0]) if rows else None
