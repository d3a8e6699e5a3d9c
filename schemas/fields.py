"""The contract's conventions and the field builders the canonical tables are declared with.

Conventions: dates are calendar dates (pandas ``datetime64`` at midnight, stored as DATE in
the warehouse) no earlier than ``EARLIEST_PLAUSIBLE_DATE``; ages in whole years at the start
of therapy; categorical columns hold codes of ``codes.yaml``; multi-valued agent columns
hold codes joined by ``AGENT_SEPARATOR`` in alphabetical order (``anlotinib+apatinib``),
empty meaning none; every table starts with ``PATIENT``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import dtypes
from pandera.engines import pandas_engine

from harmonise.schemas.codes import CodeBook, builtin, codes
from harmonise.schemas.distinct import by_value
from harmonise.schemas.units import DAYS_PER_MONTH, DAYS_PER_YEAR  # noqa: F401 (said there)

#: Dates before this are treated as placeholders (1900-01-01, 1970-01-01), not real dates.
#: PD-1 inhibitors were first approved in 2014; 2000 leaves ample room for history.
EARLIEST_PLAUSIBLE_DATE = pd.Timestamp("2000-01-01")

AGENT_SEPARATOR = "+"
PSEUDONYM_PATTERN = r"^[0-9a-f]{24}$"
CENTER_PATTERN = r"^[a-z][a-z0-9_]*$"

Int = pd.Int64Dtype  # nullable integer: missing stays missing instead of becoming a float


@pandas_engine.Engine.register_dtype
@dtypes.immutable
class Text(pandas_engine.NpString):
    """pandera's ``str`` (the same coercion, the same failures, named ``str``), checked per
    column: a column holding only Python strings and missing values passes in one C pass
    (and is not coerced again); any other is checked and coerced cell by cell as pandera
    does (a Python call per cell, about half of a center's validation time before)."""

    def check(self, pandera_dtype, data_container=None):
        if data_container is not None and _only_text(data_container):
            return True
        return super().check(pandera_dtype, data_container)

    def coerce(self, data_container):
        """pandera's coercion (``astype(str)``, missing kept), skipped for a column holding
        only strings and missing values already: it would give the same values."""
        if getattr(data_container, "dtype", None) == object and _only_text(data_container):
            return data_container
        return super().coerce(data_container)


def _only_text(data_container) -> bool:
    """Every value a Python string or missing (one C pass)."""
    return pd.api.types.infer_dtype(np.asarray(data_container, dtype=object),
                                    skipna=True) in ("string", "empty")


@pandas_engine.Engine.register_dtype
@dtypes.immutable(init=True)
class Day(pandas_engine.DateTime):
    """pandera's ``pd.Timestamp`` (``datetime64[ns]``, the same checks and failures), coerced
    only when it is not one already: the mapping hands dates over as datetime64, and
    pandera ran ``pd.to_datetime`` over them again (about 0.25 s per center, profiled)."""

    def coerce(self, data_container):
        if getattr(data_container, "dtype", None) == self.type:
            return data_container
        return super().coerce(data_container)

#: Who a row is about: every canonical table starts with these two columns.
PATIENT = ("center_id", "patient_key")


def agents_in(agent_class: str, book: CodeBook | None = None):
    """Check that every ``+``-joined agent is a known agent of ``agent_class`` (in ``book``)."""
    allowed = set((book or builtin()).codes("agent", **{"class": agent_class}))

    def ok(value) -> bool:
        return all(part in allowed for part in str(value).split(AGENT_SEPARATOR))

    def check(series: pd.Series) -> pd.Series:
        known = {v: v == "" or ok(v) for v in pd.unique(series.dropna())}  # once per value
        return series.map(known).fillna(True).astype(bool)

    return check


def once_per_distinct_value(check: pa.Check) -> pa.Check:
    """pandera's ``str_matches`` check (the same name, error and statistics, so the same
    failure cases and records), matched once per distinct value: one center's column holds
    one center id and a patient key per patient, over every row of every table."""
    pattern = re.compile(check.statistics["pattern"])

    def matches(series: pd.Series) -> pd.Series:
        distinct, spread = by_value(series)            # missing: never a match, as pandera's
        return spread(distinct.map(lambda v: isinstance(v, str) and pattern.match(v) is not None)
                      ).astype(bool)
    return pa.Check(matches, name=check.name, error=check.error, statistics=check.statistics)


def center_field():
    return pa.Field(str_matches=CENTER_PATTERN,
                    description="Center identifier, as in the mapping file name (e.g. site_a).")


def key_field():
    return pa.Field(str_matches=PSEUDONYM_PATTERN,
                    description="Keyed pseudonym of the patient (HMAC-SHA256 of center and "
                                "source identifier, 24 hex characters). Never the MRN itself.")


def date_field(description: str, nullable: bool = True, metadata: dict | None = None):
    return pa.Field(nullable=nullable, ge=EARLIEST_PLAUSIBLE_DATE, description=description,
                    metadata=metadata)


#: Field metadata of a column an export may lack (``not_recorded:`` in a mapping): the study's
#: analyses live without it (Table 1 counts "Not recorded"; a row rule that reads it is not
#: applied); stored NULL. Every other required column (sex, age, histology, the immunotherapy agent,
#: line of therapy, start and follow-up dates) is needed.
MAY_BE_NOT_RECORDED = {"may_be_not_recorded": True}


def coded(vocabulary: str, description: str, nullable: bool = False, check: bool = True,
           metadata: dict | None = None, **where):
    """A column holding codes of ``vocabulary`` (``codes.yaml``; spellings in ``vocab/<name>.yaml``)."""
    allowed = {"isin": codes(vocabulary, **where)} if check else {}
    return pa.Field(nullable=nullable, description=description,
                    metadata={"vocabulary": vocabulary, **where, **(metadata or {})}, **allowed)


class CanonicalModel(pa.DataFrameModel):
    class Config:
        strict = True   # a column not in the contract is an error, not silently loaded
        coerce = True
