"""Cox hazard ratios (Efron, stratified, fitted on risk sets) against lifelines and
statsmodels ``PHReg`` on the subjects themselves (R: tests/test_r_oracle.py).

Tolerance 1e-7 relative on log HR and SE: lifelines run to ``precision=1e-14``, statsmodels
to its default gtol; all three maximise the same Efron partial likelihood.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from statsmodels.duration.hazard_regression import PHReg

from harmonise.analysis.cox import cox_hazard_ratios


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    # three groups from prior convictions, ties in weeks, strata by work experience
    d["group"] = pd.cut(d["prio"], [-1, 1, 4, 100], labels=["low", "mid", "high"]).astype(str)
    return d


def test_stratified_efron_hazard_ratios_equal_lifelines_and_statsmodels(rossi):
    got = cox_hazard_ratios(rossi["week"], rossi["arrest"].astype(bool), rossi["group"],
                            reference="low", groups=("low", "mid", "high"),
                            strata=rossi["wexp"]).set_index("group")
    frame = pd.DataFrame({"week": rossi["week"], "arrest": rossi["arrest"],
                          "mid": (rossi["group"] == "mid").astype(float),
                          "high": (rossi["group"] == "high").astype(float),
                          "wexp": rossi["wexp"]})
    ll = CoxPHFitter(strata=["wexp"]).fit(frame, "week", "arrest",
                                          fit_options={"precision": 1e-14, "r_precision": 1e-14})
    sm = PHReg(frame["week"], frame[["mid", "high"]], status=frame["arrest"], ties="efron",
               strata=frame["wexp"]).fit()
    for i, name in enumerate(("mid", "high")):
        beta = math.log(got.loc[name, "hr"])
        assert math.isclose(beta, ll.params_[name], rel_tol=1e-7)
        assert math.isclose(beta, sm.params[i], rel_tol=1e-7)
        se = (math.log(got.loc[name, "hr_upper"]) - beta) / 1.959963984540054
        assert math.isclose(se, ll.standard_errors_[name], rel_tol=1e-7)
        assert math.isclose(se, sm.bse[i], rel_tol=1e-6)
        assert math.isclose(got.loc[name, "hr_p"], ll.summary.loc[name, "p"], rel_tol=1e-6)


def test_hazard_ratio_of_a_group_without_events_is_flagged_and_the_rest_estimated():
    t = np.array([1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 9, 10, 3, 5, 7, 9], float)
    e = np.array([1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], bool)
    g = np.array(["x"] * 6 + ["y"] * 6 + ["z"] * 4, object)
    got = cox_hazard_ratios(t, e, g, reference="x").set_index("group")
    # without events, z's coefficient has no finite maximum; the limit drops z's subjects
    kept = g != "z"
    ref = PHReg(t[kept], (g[kept] == "y").astype(float)[:, None], status=e[kept].astype(int),
                ties="efron").fit()
    assert math.isclose(math.log(got.loc["y", "hr"]), ref.params[0], rel_tol=1e-7)
    assert np.isnan(got.loc["z", "hr"]) and "no event in the group" in got.loc["z", "note"]


def test_missing_time_is_dropped_before_the_fit():
    t = [1, 2, np.nan, 4, 5, 6, 3, 7]
    e = [True, True, True, False, True, False, True, True]
    g = ["a"] * 4 + ["b"] * 4
    with_nan = cox_hazard_ratios(t, e, g, reference="a")
    without = cox_hazard_ratios([1, 2, 4, 5, 6, 3, 7], [True, True, False, True, False, True,
                                                         True], ["a"] * 3 + ["b"] * 4,
                                reference="a")
    assert with_nan["hr"].iloc[0] == without["hr"].iloc[0] and np.isfinite(without["hr"].iloc[0])


def test_risk_sets_built_once_for_both_tests_give_the_model_its_own_counts():
    """The comparisons build the stratified risk sets once for the log-rank test and the Cox
    model; the model's rows of them equal risk sets built from its groups alone, so the hazard
    ratios are the very ones fitted from the subjects (a group without events left out)."""
    from harmonise.analysis.risksets import group_indices, stratified_risk_sets
    rng = np.random.default_rng(5)
    n = 400
    t = np.round(rng.exponential(10, n), 1)
    g = rng.choice(["a", "b", "c"], n)
    e = (rng.random(n) < 0.6) & (g != "c")                    # c: subjects, no event
    s = rng.choice(["x", "y", "z"], n)
    groups = ("a", "b", "c")
    shared = stratified_risk_sets(t, e, group_indices(g, groups), pd.factorize(s)[0], 3)
    own = stratified_risk_sets(t, e, group_indices(g, ("b", "a")), pd.factorize(s)[0], 2)
    mine = shared.of_groups([1, 0])
    for field in ("times", "at_risk", "events", "n"):
        np.testing.assert_array_equal(getattr(mine, field), getattr(own, field))
    pd.testing.assert_frame_equal(
        cox_hazard_ratios(t, e, g, reference="a", groups=groups, strata=s, sets=shared),
        cox_hazard_ratios(t, e, g, reference="a", groups=groups, strata=s))
