"""A patient's dates side by side, checked for clinical order (not stored)."""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series


class Timeline(pa.DataFrameModel):
    """A patient's dates side by side (treatment joined with outcome), checked for clinical order.

    ``cutoff_date`` is the data cut-off of the run: no recorded date may lie after it.
    Validated per center, so a patient is identified by ``patient_key`` alone.
    """

    patient_key: Series[str]
    start_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    end_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    progression_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    death_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    last_followup_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    cutoff_date: Series[pd.Timestamp]

    class Config:
        strict = True

    @pa.dataframe_check(name="progression_not_before_start",
                        error="progression date is before the start of therapy")
    def _progression_after_start(cls, df):
        return _not_before(df["progression_date"], df["start_date"])

    @pa.dataframe_check(name="death_not_before_progression",
                        error="death date is before the progression date")
    def _death_after_progression(cls, df):
        return _not_before(df["death_date"], df["progression_date"])

    @pa.dataframe_check(name="death_not_before_start",
                        error="death date is before the start of therapy")
    def _death_after_start(cls, df):
        return _not_before(df["death_date"], df["start_date"])

    @pa.dataframe_check(name="end_not_before_start",
                        error="end of treatment is before the start of therapy")
    def _end_after_start(cls, df):
        return _not_before(df["end_date"], df["start_date"])

    @pa.dataframe_check(name="followup_not_before_start",
                        error="last follow-up is before the start of therapy")
    def _followup_after_start(cls, df):
        return _not_before(df["last_followup_date"], df["start_date"])

    @pa.dataframe_check(name="followup_not_before_progression",
                        error="last follow-up is before the progression date")
    def _followup_after_progression(cls, df):
        return _not_before(df["last_followup_date"], df["progression_date"])

    @pa.dataframe_check(name="no_date_after_cutoff",
                        error="a date lies after the data cut-off")
    def _nothing_after_cutoff(cls, df):
        dates = df[TIMELINE_DATES]
        return dates.le(df["cutoff_date"], axis=0).where(dates.notna(), True).all(axis=1)


TIMELINE_DATES = ["start_date", "end_date", "progression_date", "death_date", "last_followup_date"]


def _not_before(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """True where ``later >= earlier`` or either is missing."""
    return later.isna() | earlier.isna() | (later >= earlier)
