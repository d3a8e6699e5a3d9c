"""ORR / DCR with exact Clopper-Pearson CIs against statsmodels and the published counts."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from harmonise.analysis import response, views


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (0, 20), (10, 20), (18, 79), (56, 79),
                                  (79, 79), (3, 7)])
def test_clopper_pearson_matches_statsmodels_beta(k, n):
    rate, lower, upper = response.proportion_ci(k, n)
    ref_lower, ref_upper = proportion_confint(k, n, alpha=0.05, method="beta")
    assert rate == k / n
    assert math.isclose(lower, ref_lower, rel_tol=1e-8, abs_tol=1e-12)
    assert math.isclose(upper, ref_upper, rel_tol=1e-8, abs_tol=1e-12)


def test_proportion_of_empty_group_is_nan():
    assert all(np.isnan(x) for x in response.proportion_ci(0, 0))


def test_best_response_counts_on_demo_equal_published(demo_con, published):
    rates = response.response_rates(views.responses(demo_con), by="is_asps")
    rows = rates.set_index("group")
    bor = published["best_response"]
    for code, n in bor["overall"].items():
        assert rows.loc["all", code] == n, code
    for group, key in (("True", "ASPS"), ("False", "non_ASPS")):
        for code, n in bor[key].items():
            assert rows.loc[group, code] == n, (key, code)
    assert rows.loc["all", "n"] == published["n_patients"]


def test_orr_and_dcr_on_demo_round_to_published_percentages(demo_con, published):
    rows = response.response_rates(views.responses(demo_con), by="is_asps").set_index("group")
    pct = published["best_response"]
    assert round(100 * rows.loc["all", "orr"], 1) == pct["orr_percent"]["overall"]
    assert round(100 * rows.loc["True", "orr"], 1) == pct["orr_percent"]["ASPS"]
    assert round(100 * rows.loc["False", "orr"], 1) == pct["orr_percent"]["non_ASPS"]
    assert round(100 * rows.loc["all", "dcr"], 1) == pct["dcr_percent"]["overall"]
    lower, upper = proportion_confint(rows.loc["all", "CR"] + rows.loc["all", "PR"],
                                      rows.loc["all", "n"], method="beta")
    assert math.isclose(rows.loc["all", "orr_lower"], lower, rel_tol=1e-8)
    assert math.isclose(rows.loc["all", "orr_upper"], upper, rel_tol=1e-8)


def test_response_rates_count_not_evaluable_in_the_denominator():
    frame = pd.DataFrame({"best_response": ["CR", "PR", "SD", "PD", "NE", None],
                          "arm": ["a", "a", "a", "b", "b", "b"]})
    rates = response.response_rates(frame, by="arm").set_index("group")
    assert rates.loc["all", "n"] == 6 and rates.loc["all", "orr"] == 2 / 6
    assert rates.loc["all", "dcr"] == 3 / 6 and rates.loc["all", "missing"] == 1
    assert rates.loc["b", "orr"] == 0 and rates.loc["b", "orr_lower"] == 0
    assert set(rates["ci_method"]) == {"Clopper-Pearson exact"}


def test_response_rates_on_empty_frame_are_nan():
    rates = response.response_rates(pd.DataFrame({"best_response": []}))
    assert rates.loc[0, "n"] == 0 and np.isnan(rates.loc[0, "orr"])
    assert np.isnan(rates.loc[0, "dcr_upper"])


def test_grouped_response_rates_of_no_patients_keep_every_column():
    import pandas as pd
    from harmonise.analysis.response import RATE_COLUMNS, response_rates
    empty = pd.DataFrame({"best_response": pd.Series([], dtype=object), "is_asps": pd.Series([], dtype=bool)})
    out = response_rates(empty, by="is_asps", overall=False)
    assert list(out.columns) == [*RATE_COLUMNS, "ci_method"] and out.empty
