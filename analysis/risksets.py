"""Risk sets: per group, the numbers at risk and the events at each distinct event time.

The log-rank tests and the Cox model need only these counts, never the subjects: one
column per distinct event time (of one stratum), one row per group. Built with a sort and
a ``bincount``, so a million subjects cost one pass. "At risk at t" means time >= t.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RiskSets:
    """Counts of one stratum at its distinct event times.

    Attributes
    ----------
    times : numpy.ndarray
        Distinct event times, increasing (length J).
    at_risk, events : numpy.ndarray
        k x J: subjects of each group with time >= t_j, and events of each group at t_j.
    n : numpy.ndarray
        Subjects per group (length k).
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    n: np.ndarray

    def of_groups(self, rows) -> RiskSets:
        """The risk sets of some of the groups (``rows``: their indices, in the new order),
        as if built from those groups' subjects alone: the same counts, and the columns
        where one of them has an event. (A group left out with events would leave columns
        the others have no event at: they are dropped, as building them anew would.)"""
        rows = list(rows)
        events = self.events[rows]
        keep = events.sum(axis=0) > 0
        return RiskSets(self.times[keep], self.at_risk[rows][:, keep], events[:, keep],
                        self.n[rows])


def risk_sets(time, event, group_index, k: int) -> RiskSets:
    """Risk sets of one stratum.

    Parameters
    ----------
    time : array_like of float
        Follow-up times (no NaN).
    event : array_like of bool
        True where the event was observed.
    group_index : array_like of int
        Group of each subject as an index in ``range(k)``; subjects with a negative
        index belong to no listed group and are left out.
    k : int
        Number of groups.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    gi = np.asarray(group_index, dtype=np.int64)
    listed = gi >= 0
    t, e, gi = t[listed], e[listed], gi[listed]
    n = np.bincount(gi, minlength=k).astype(float)[:k]
    if not e.any():
        return RiskSets(np.empty(0), np.zeros((k, 0)), np.zeros((k, 0)), n)
    times, inverse = np.unique(t, return_inverse=True)
    size = times.size
    cell = gi * size + inverse
    total = np.bincount(cell, minlength=k * size).reshape(k, size).astype(float)
    dead = np.bincount(cell, weights=e.astype(float), minlength=k * size).reshape(k, size)
    at_risk = np.cumsum(total[:, ::-1], axis=1)[:, ::-1]
    keep = dead.sum(axis=0) > 0
    return RiskSets(times[keep], at_risk[:, keep], dead[:, keep], n)


def stratified_risk_sets(time, event, group_index, stratum_index, k: int) -> RiskSets:
    """Risk sets of every stratum side by side: one column per (stratum, distinct event
    time), numbers at risk counted within the stratum. Summing a statistic over these
    columns is summing it over strata (the stratified log-rank test, the stratified Cox
    likelihood). One sort for all strata; ``stratum_index`` are integers (factorized).
    ``n`` is the subjects per group over all strata."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    gi = np.asarray(group_index, dtype=np.int64)
    si = np.asarray(stratum_index, dtype=np.int64)
    listed = gi >= 0
    t, e, gi, si = t[listed], e[listed], gi[listed], si[listed]
    n = np.bincount(gi, minlength=k).astype(float)[:k]
    if not e.any():
        return RiskSets(np.empty(0), np.zeros((k, 0)), np.zeros((k, 0)), n)
    order = np.lexsort((t, si))
    t, e, gi, si = t[order], e[order], gi[order], si[order]
    new = np.concatenate([[True], (si[1:] != si[:-1]) | (t[1:] != t[:-1])])
    cell = np.cumsum(new) - 1                          # (stratum, time) cell of each subject
    size = int(cell[-1]) + 1
    cell_stratum = si[new]
    flat = gi * size + cell
    total = np.bincount(flat, minlength=k * size).reshape(k, size).astype(float)
    dead = np.bincount(flat, weights=e.astype(float), minlength=k * size).reshape(k, size)
    tail = np.cumsum(total[:, ::-1], axis=1)[:, ::-1]   # subjects at or after each cell
    last = np.flatnonzero(np.concatenate([cell_stratum[1:] != cell_stratum[:-1], [True]]))
    after = np.zeros((k, size))                        # ... minus those of later strata
    end_of = np.searchsorted(last, np.arange(size))    # index of each cell's stratum end
    nxt = last[end_of] + 1
    has_next = nxt < size
    after[:, has_next] = tail[:, nxt[has_next]]
    at_risk = tail - after
    keep = dead.sum(axis=0) > 0
    return RiskSets(t[new][keep], at_risk[:, keep], dead[:, keep], n)


def group_indices(group, groups) -> np.ndarray:
    """Index of each subject's group in ``groups`` (-1 when not listed; a value is in the
    last listed group it ``==``). Each distinct value is matched once
    (``pandas.factorize``), not each subject."""
    codes, uniques = pd.factorize(values_of(group))
    index = np.full(len(uniques) + 1, -1, dtype=np.int64)   # the last: missing (code -1)
    for u, value in enumerate(uniques):
        index[u] = max((i for i, listed in enumerate(groups) if value == listed), default=-1)
    return index[codes]


def values_of(group) -> np.ndarray:
    """``group`` as an array: numbers and booleans as they are (fast to factorize), any
    other values as Python objects (compared by ``==``, never coerced to text)."""
    g = np.asarray(group)
    return g if g.dtype.kind in "biuf" else np.asarray(group, dtype=object)
