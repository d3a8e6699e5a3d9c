"""The same patient treated at two centers: flagged by a keyed fingerprint, never matched by name.

Patient keys are per center (a center's MRN means nothing elsewhere), so a patient referred
from one hospital to another is two patients in the pooled analyses. Each patient gets a
fingerprint: an HMAC, with the pseudonymisation key, of the quasi-identifiers the project
chooses (default sex, age, histology and the month treatment started). Equal fingerprints
at two centers are likely the same person; ``harmonise status`` says how many, per pair of
centers. Only the fingerprint is stored, not the values it was made from.
"""
from __future__ import annotations

import hashlib
import hmac

import duckdb
import pandas as pd

from harmonise.schemas.distinct import by_value

DEFAULT_FIELDS = "patient.sex, patient.age_years, patient.histology, treatment.start_date"


def parse_fields(text: str) -> list[tuple[str, str]]:
    """``"patient.sex, treatment.start_date"`` -> ``[("patient", "sex"), ...]``."""
    return [tuple(part.strip().split(".", 1)) for part in text.split(",") if part.strip()]


def fingerprints(clean: dict[str, pd.DataFrame], key: bytes, fields: str) -> pd.DataFrame:
    """``patient_key, fingerprint`` for each patient that has every chosen field."""
    per_patient = []
    for table, column in parse_fields(fields):
        frame = clean.get(table)
        if frame is None or column not in frame or frame.empty:
            return pd.DataFrame(columns=["patient_key", "fingerprint"])
        values = frame[["patient_key", column]].dropna()
        if pd.api.types.is_datetime64_any_dtype(values[column]):
            values = values.sort_values(column).drop_duplicates("patient_key")
            text = _each_distinct(values[column], lambda d: d.strftime("%Y-%m"))  # the month
        else:
            values = values.drop_duplicates("patient_key")
            text = values[column].astype(str)
        per_patient.append(pd.Series(text.values, index=values["patient_key"].values,
                                     name=f"{table}.{column}"))
    if not per_patient:
        return pd.DataFrame(columns=["patient_key", "fingerprint"])
    joined = pd.concat(per_patient, axis=1, join="inner").astype(str)
    mac = hmac.new(hmac.new(key, b"harmonise duplicate fingerprint", hashlib.sha256).digest(),
                   digestmod=hashlib.sha256)

    def made(row: tuple) -> str:
        one = mac.copy()
        one.update("\x1f".join(row).encode())
        return one.hexdigest()[:20]
    rows = pd.Series(list(joined.itertuples(index=False, name=None)), index=joined.index,
                     dtype=object)
    return pd.DataFrame({"patient_key": joined.index,
                         "fingerprint": _each_distinct(rows, made).to_numpy()})


def _each_distinct(values: pd.Series, fn) -> pd.Series:
    """``values.map(fn)`` (no missing value), calling ``fn`` once per distinct value."""
    distinct, spread = by_value(values)
    return spread(distinct.map(fn, na_action="ignore"))


def replace(con: duckdb.DuckDBPyConnection, center_id: str, frame: pd.DataFrame | None,
            load_id: str) -> None:
    """The center's fingerprints become ``frame`` (inside the caller's transaction)."""
    con.execute("DELETE FROM patient_fingerprint WHERE center_id = ?", [center_id])
    if frame is not None and len(frame):
        rows = frame.assign(center_id=center_id, load_id=load_id)
        con.register("incoming_fingerprints", rows)
        try:
            con.execute("INSERT INTO patient_fingerprint BY NAME SELECT * FROM incoming_fingerprints")
        finally:
            con.unregister("incoming_fingerprints")


def likely(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """``(center, other center, patients with the same fingerprint)`` per pair of centers
    (view ``v_duplicate_pair``, which the report reads too)."""
    try:
        return con.execute("SELECT center_id, other_center_id, patients FROM v_duplicate_pair "
                           "ORDER BY 1, 2").fetchall()
    except duckdb.CatalogException:   # a warehouse written before the view existed
        return []
