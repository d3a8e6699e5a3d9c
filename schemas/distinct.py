"""A function of a value alone, computed once per distinct value and spread back to the rows.

A center's columns repeat a few values over many rows (one center id, a patient key per
patient on every row of every table, five sexes, a thousand dates), so the mapping's
transforms, the contract's pattern checks and the duplicate fingerprints each run over the
distinct values only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def by_value(cells: pd.Series):
    """The distinct cells of a column (and, last, one missing), and a function spreading a
    result computed over them back onto the column's rows (missing cells get the last)."""
    codes, uniques = pd.factorize(cells)
    distinct = pd.Series([*uniques, None], dtype=object)
    where = np.where(codes < 0, len(uniques), codes)

    def spread(result: pd.Series) -> pd.Series:
        return result.iloc[where].set_axis(cells.index)
    return distinct, spread
