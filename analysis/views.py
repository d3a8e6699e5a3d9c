"""Read the warehouse's analysis views into pandas frames.

Every function takes an open DuckDB connection (read-only is enough) and returns a
DataFrame or a plain value. Only the views and reference tables are read: ``v_patient``,
``v_response``, ``v_adverse_event_worst``, ``ref_code`` and ``study_config``.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd


def patients(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``v_patient``: one row per patient, ordered by center and patient key.

    Times: ``pfs_days``/``os_days`` in days, ``pfs_months``/``os_months`` in months
    (days / the plan's ``days_per_month``); ``pfs_event``/``os_event`` are booleans (True =
    event observed). The derived groupings are the plan's (see :mod:`analysis.plan_sql`).
    """
    return con.sql("SELECT * FROM v_patient ORDER BY center_id, patient_key").df()


def responses(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``v_response``: one row per patient with best response and the ORR/DCR flags."""
    return con.sql("SELECT * FROM v_response ORDER BY center_id, patient_key").df()


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
