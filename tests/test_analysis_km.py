"""Kaplan-Meier layer (analysis.km) against lifelines, statsmodels and R's documented rules."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung, load_waltons
from scipy.stats import norm
from statsmodels.duration.survfunc import SurvfuncRight

from harmonise.analysis import km, views
from harmonise.analysis.plan import load_plan

ENDPOINT_COLUMNS = {"pfs": ("pfs_months", "pfs_event"), "os": ("os_months", "os_event")}

Z = norm.ppf(0.975)
SM_METHOD = {"log": "log", "log-log": "cloglog", "plain": "linear"}


def _datasets():
    lung, walt = load_lung(), load_waltons()
    control = walt["group"] == "control"
    return {
        "lung": (lung["time"].to_numpy(float), lung["status"].to_numpy() == 1),
        "lung_female": (lung.loc[lung["sex"] == 2, "time"].to_numpy(float),
                        lung.loc[lung["sex"] == 2, "status"].to_numpy() == 1),
        "waltons_control": (walt.loc[control, "T"].to_numpy(float),
                            walt.loc[control, "E"].to_numpy() == 1),
        "waltons_mir137": (walt.loc[~control, "T"].to_numpy(float),
                           walt.loc[~control, "E"].to_numpy() == 1),
    }


DATASETS = _datasets()


def _demo_sets(con):
    p = views.patients(con)
    out = {}
    for ep, (tc, ec) in ENDPOINT_COLUMNS.items():
        for name, rows in (("all", p), ("asps", p[p["is_asps"]]), ("non_asps", p[~p["is_asps"]])):
            out[f"{ep}_{name}"] = (rows[tc].to_numpy(float), rows[ec].to_numpy(bool))
    return out


def _at_event_times(fit: km.KaplanMeier, sf: SurvfuncRight):
    tab = fit.table.set_index("time")
    return tab.loc[sf.surv_times]


def _none_or_float(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _same(a, b, tol=1e-8):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_km_survival_and_greenwood_se_match_statsmodels(name):
    t, e = DATASETS[name]
    fit, sf = km.kaplan_meier(t, e), SurvfuncRight(t, e.astype(int))
    tab = _at_event_times(fit, sf)
    np.testing.assert_allclose(tab["survival"], sf.surv_prob, rtol=1e-8, atol=1e-12)
    # Greenwood: both NaN where S = 0 (n = d makes the last term infinite)
    np.testing.assert_allclose(tab["std_err"], sf.surv_prob_se, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(tab["at_risk"], sf.n_risk)
    np.testing.assert_array_equal(tab["events"], sf.n_events)


def test_km_on_demo_warehouse_matches_statsmodels(demo_con):
    for name, (t, e) in _demo_sets(demo_con).items():
        fit, sf = km.kaplan_meier(t, e), SurvfuncRight(t, e.astype(int))
        tab = _at_event_times(fit, sf)
        np.testing.assert_allclose(tab["survival"], sf.surv_prob, rtol=1e-8, err_msg=name)
        np.testing.assert_allclose(tab["std_err"], sf.surv_prob_se, rtol=1e-8, err_msg=name)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_km_log_band_matches_statsmodels_greenwood_se(name):
    # R survfit conf.type="log": exp(log S -/+ z SE(log S)), SE(log S) = SE(S) / S
    t, e = DATASETS[name]
    fit, sf = km.kaplan_meier(t, e, transform="log"), SurvfuncRight(t, e.astype(int))
    tab = _at_event_times(fit, sf)
    s, se = sf.surv_prob, sf.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = s * np.exp(-Z * se / s), np.minimum(s * np.exp(Z * se / s), 1)
    np.testing.assert_allclose(tab["lower"], lower, rtol=1e-8)
    np.testing.assert_allclose(tab["upper"], upper, rtol=1e-8)
    assert set(fit.table["transform"]) == {"log"}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_km_plain_band_matches_statsmodels_greenwood_se(name):
    t, e = DATASETS[name]
    fit, sf = km.kaplan_meier(t, e, transform="plain"), SurvfuncRight(t, e.astype(int))
    tab = _at_event_times(fit, sf)
    s, se = sf.surv_prob, sf.surv_prob_se
    np.testing.assert_allclose(tab["lower"], np.clip(s - Z * se, 0, 1), rtol=1e-8)
    np.testing.assert_allclose(tab["upper"], np.clip(s + Z * se, 0, 1), rtol=1e-8)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_km_log_log_band_is_lifelines_confidence_interval(name):
    t, e = DATASETS[name]
    fit = km.kaplan_meier(t, e, transform="log-log")
    ref = KaplanMeierFitter().fit(t, e).confidence_interval_
    positive = fit.table["survival"].to_numpy() > 0
    np.testing.assert_allclose(fit.table["lower"][positive], ref.iloc[positive.nonzero()[0], 0],
                               rtol=1e-10)
    np.testing.assert_allclose(fit.table["upper"][positive], ref.iloc[positive.nonzero()[0], 1],
                               rtol=1e-10)
    # where S = 0 we follow R (band undefined), lifelines reports [0, 0]
    assert fit.table.loc[~positive, ["lower", "upper"]].isna().all().all()


@pytest.mark.parametrize("transform", km.TRANSFORMS)
@pytest.mark.parametrize("prob", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_km_quantile_ci_matches_statsmodels_quantile_ci(name, prob, transform):
    # statsmodels inverts the z-test on g(S) (Brookmeyer-Crowley, as SAS); R reads the first
    # time the band crosses the level. Both give the same event times when the band crosses
    # the level before the curve reaches 0 and no stretch sits exactly on the level.
    t, e = DATASETS[name]
    fit, sf = km.kaplan_meier(t, e, transform=transform), SurvfuncRight(t, e.astype(int))
    tab, end = fit.table, float(t.max())
    mine = [km.survival_quantile(tab["time"], tab[c], prob, last_time=end)
            for c in ("survival", "lower", "upper")]
    ref = [_none_or_float(sf.quantile(prob)),
           *map(_none_or_float, sf.quantile_ci(prob, method=SM_METHOD[transform]))]
    assert all(_same(a, b) for a, b in zip(mine, ref)), (mine, ref)
    if prob == 0.5:
        assert _same(fit.median, ref[0]) and _same(fit.median_lower, ref[1])
        assert _same(fit.median_upper, ref[2])


def test_km_median_ci_on_demo_matches_statsmodels_except_where_curve_reaches_zero(demo_con):
    for name, (t, e) in _demo_sets(demo_con).items():
        for transform in km.TRANSFORMS:
            fit, sf = km.kaplan_meier(t, e, transform=transform), SurvfuncRight(t, e.astype(int))
            lo, up = map(_none_or_float, sf.quantile_ci(0.5, method=SM_METHOD[transform]))
            assert _same(fit.median, _none_or_float(sf.quantile(0.5))), name
            assert _same(fit.median_lower, lo), (name, transform)
            # statsmodels reports the time S reaches 0 when the upper band never crosses 0.5
            # before it; R (and we) report NR because the band is undefined at S = 0.
            reaches_zero = fit.table["survival"].min() == 0 and fit.median_upper is None
            assert _same(fit.median_upper, up) or reaches_zero, (name, transform)


def test_km_lung_median_equals_r_survfit_printout():
    # R: print(survfit(Surv(time, status) ~ 1, data = lung)) shows
    #   n = 228, events = 165, median = 310, 0.95LCL = 285, 0.95UCL = 363 (conf.type "log")
    t, e = DATASETS["lung"]
    fit = km.kaplan_meier(t, e, transform="log")
    assert (fit.n, fit.events, fit.median, fit.median_lower, fit.median_upper) == (
        228, 165, 310, 285, 363)


def test_km_median_takes_midpoint_of_exact_half_plateau():
    # S = .75, .5, .25, 0: R's midpoint rule lies between lifelines' "first S <= .5" and
    # statsmodels' (SAS) "first S < .5".
    t, e = np.array([1.0, 2, 3, 4]), np.ones(4, bool)
    fit = km.kaplan_meier(t, e)
    lifelines_median = KaplanMeierFitter().fit(t, e).median_survival_time_
    sas_median = SurvfuncRight(t, e.astype(int)).quantile(0.5)
    assert (lifelines_median, sas_median) == (2.0, 3.0)
    assert fit.median == (lifelines_median + sas_median) / 2


def test_km_median_plateau_at_half_to_end_takes_its_start_like_print_survfit():
    # S = .75, .5 then censored at 3 and 4: print(survfit) shows 2 (the plateau's start),
    # quantile(survfit) the midpoint (2 + last time 4) / 2 = 3 (R 4.2.2, survival 3.5-3)
    t, e = [1, 2, 3, 4], [True, True, False, False]
    assert km.kaplan_meier(t, e).median == 2.0
    assert km.kaplan_meier(t, e, median_rule="midpoint").median == 3.0


def test_km_unknown_median_rule_is_rejected():
    with pytest.raises(ValueError, match="median_rule"):
        km.kaplan_meier([1.0], [True], median_rule="mean")


def test_km_missing_time_is_dropped_and_counted():
    fit = km.kaplan_meier([1.0, np.nan, 3.0], [True, True, False])
    assert (fit.n, fit.events, fit.missing) == (2, 1, 1)


def test_km_median_not_reached_is_none():
    fit = km.kaplan_meier([1, 2, 3, 4, 5], [True, False, False, False, False])
    assert fit.median is None and fit.median_upper is None
    assert fit.summary.loc[0, "median"] is None


def test_km_no_events_gives_flat_curve_and_nr():
    fit = km.kaplan_meier([2.0, 3.0, 5.0], [False, False, False])
    assert fit.events == 0 and (fit.table["survival"] == 1).all()
    assert (fit.table["lower"] == 1).all() and (fit.table["upper"] == 1).all()
    assert (fit.median, fit.median_lower, fit.median_upper) == (None, None, None)


def test_km_empty_selection_gives_empty_result():
    fit = km.kaplan_meier([], [], transform="plain")
    assert fit.n == 0 and fit.table.empty and fit.median is None
    assert list(fit.table.columns) == km.TABLE_COLUMNS
    assert fit.summary.loc[0, "transform"] == "plain"
    rates = km.survival_at(fit, [3, 6])
    assert rates["survival"].isna().all() and (rates["at_risk"] == 0).all()


def test_km_all_events_at_one_time():
    fit = km.kaplan_meier([4.0, 4.0, 4.0], [True, True, True])
    at4 = fit.table.set_index("time").loc[4.0]
    assert at4["survival"] == 0 and np.isnan(at4["std_err"]) and np.isnan(at4["lower"])
    assert fit.median == 4.0 and fit.median_lower is None and fit.median_upper is None


def test_km_group_of_one():
    fit = km.kaplan_meier([7.0], [True])
    assert (fit.n, fit.events, fit.median) == (1, 1, 7.0)
    censored = km.kaplan_meier([7.0], [False])
    assert censored.median is None and censored.table["survival"].min() == 1


def test_km_invalid_transform_is_rejected():
    with pytest.raises(ValueError):
        km.kaplan_meier([1.0], [True], transform="arcsin")


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_survival_at_reads_the_step_curve_like_lifelines(name):
    t, e = DATASETS[name]
    fit = km.kaplan_meier(t, e)
    inside = np.linspace(0, t.max(), 17)
    got = km.survival_at(fit, inside)
    ref = KaplanMeierFitter().fit(t, e).survival_function_at_times(inside).to_numpy()
    np.testing.assert_allclose(got["survival"], ref, rtol=1e-12)
    np.testing.assert_array_equal(got["at_risk"], [(t >= x).sum() for x in inside])
    assert set(got["transform"]) == {"log"}


def test_survival_at_beyond_follow_up_is_nan_unless_curve_reached_zero():
    open_end = km.kaplan_meier([1, 2, 3], [True, False, False])
    assert np.isnan(km.survival_at(open_end, [10])["survival"].iloc[0])
    closed = km.kaplan_meier([1, 2, 3], [True, False, True])
    assert km.survival_at(closed, [10])["survival"].iloc[0] == 0


def test_landmark_rates_on_demo_match_statsmodels(demo_con):
    p = views.patients(demo_con)
    landmarks = load_plan().landmarks          # the reference study's (demo/study/plan.yaml)
    rates = km.landmark_rates(p, landmarks).set_index(["endpoint", "time"])
    for ep, months in landmarks.items():
        tc, ec = ENDPOINT_COLUMNS[ep]
        sf = SurvfuncRight(p[tc].to_numpy(float), p[ec].to_numpy(int))
        for m in months:
            i = np.searchsorted(sf.surv_times, m, side="right") - 1
            s, se = sf.surv_prob[i], sf.surv_prob_se[i]
            row = rates.loc[(ep, m)]
            assert math.isclose(row["survival"], s, rel_tol=1e-8)
            assert math.isclose(row["lower"], s * math.exp(-Z * se / s), rel_tol=1e-8)
            assert math.isclose(row["upper"], min(1, s * math.exp(Z * se / s)), rel_tol=1e-8)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_number_at_risk_matches_statsmodels_risk_sets(name):
    t, e = DATASETS[name]
    sf = SurvfuncRight(t, e.astype(int))
    tab = km.number_at_risk(t, e, sf.surv_times)
    np.testing.assert_array_equal(tab["at_risk"], sf.n_risk)
    assert (tab[["at_risk", "events", "censored"]].sum(axis=1) == t.size).all()


def test_numbers_at_risk_read_off_the_step_points_equal_those_counted_per_patient():
    """The figures' table comes from the curve (one row per distinct time), never from the
    patients; it must give the very integers counted patient by patient, ties, zeros, NaN
    times and ticks past the end included."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(0, 80))
        t = np.round(rng.exponential(12, n) * 4) / 4
        t[rng.random(n) < 0.1] = 0.0
        t[rng.random(n) < 0.1] = np.nan
        e = rng.random(n) < 0.6
        ticks = np.arange(0.0, 61.0, 6.0)
        counted = km.number_at_risk(t, e, ticks)
        read_off = km.at_ticks(km.kaplan_meier(t, e), ticks)
        pd.testing.assert_frame_equal(read_off, counted)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_median_followup_is_reverse_km_median(name):
    t, e = DATASETS[name]
    reverse = SurvfuncRight(t, (~e).astype(int))
    got = km.median_followup(t, e).iloc[0]
    assert got["method"] == "reverse Kaplan-Meier" and got["censored"] == (~e).sum()
    assert _same(_none_or_float(got["median"]), _none_or_float(reverse.quantile(0.5)))
    lo, _ = reverse.quantile_ci(0.5, method="log")
    assert _same(_none_or_float(got["median_lower"]), _none_or_float(lo))


def test_median_followup_without_censoring_is_not_reached():
    got = km.median_followup([1.0, 2.0], [True, True]).iloc[0]
    assert got["censored"] == 0 and got["median"] is None


def test_confidence_band_edges():
    lower, upper = km.confidence_band([1.0, 0.5, 0.0], [0.0, 0.1, 0.2], "log")
    assert (lower[0], upper[0]) == (1.0, 1.0)
    assert np.isnan(lower[2]) and np.isnan(upper[2])
    assert math.isclose(lower[1], 0.5 * math.exp(-Z * math.sqrt(0.1)), rel_tol=1e-12)


def test_km_median_plateau_detected_despite_floating_point_products():
    # S(3) = 5/6 * 4/5 * 3/4 is 0.5 only up to rounding in lifelines' exp(sum(log)); R's
    # tolerance sqrt(eps) still sees the 0.5 stretch from 3 to 4: median 3.5.
    fit = km.kaplan_meier([1.0, 2, 3, 4, 5, 6], [True] * 6)
    assert abs(fit.table.set_index("time").loc[3.0, "survival"] - 0.5) < 1e-12
    assert fit.median == 3.5


def test_median_followup_on_demo_matches_statsmodels_reverse_km(demo_con):
    p = views.patients(demo_con)
    t, e = p["os_months"].to_numpy(float), p["os_event"].to_numpy(bool)
    reverse = SurvfuncRight(t, (~e).astype(int))
    got = km.median_followup(t, e).iloc[0]
    assert _same(float(got["median"]), float(reverse.quantile(0.5)))
    lo, _ = reverse.quantile_ci(0.5, method="log")
    assert _same(float(got["median_lower"]), float(lo))
    # Upper limit: R's survfit takes the FIRST time the upper band reaches 0.5 (findq), while
    # statsmodels inverts a test at every time and returns the LAST time whose band still
    # holds 0.5. They agree while the band falls monotonically; on the demo's reverse curve
    # the band rises again once few patients remain, so the limit is checked against R's
    # rule applied to statsmodels' own curve and Greenwood standard error (log transform).
    from scipy.stats import norm
    from tests.test_analysis_comparisons import r_findq_median
    surv, se = np.asarray(reverse.surv_prob), np.asarray(reverse.surv_prob_se)
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(surv > 0, np.minimum(surv * np.exp(norm.ppf(0.975) * se / surv), 1.0), np.nan)
    expected = r_findq_median(reverse.surv_times, upper, t.max())
    assert _same(_none_or_float(got["median_upper"]), _none_or_float(expected))
