"""R's survival package as the oracle: every number harmonise reports, checked against R.

Three datasets, one ``Rscript`` call each (tests/r_oracle.py, tests/r_oracle.R):

* the NCCTG lung data (lifelines.datasets.load_lung; R's own ``survival::lung``), by sex
  stratified by institution and by ECOG score (4 groups, one of a single patient, one
  patient with a missing score);
* a set of edge cases: ties, all censored, a single subject, a median never reached,
  S = 0.5 on a flat step and at the end of follow-up, time-zero events, 3 groups, a group
  without events, a missing time;
* the demo warehouse: the report's own ``numbers/report.json`` (comparisons, Kaplan-Meier
  summary, landmarks, follow-up, figure medians and numbers at risk, response rates).

Tolerances (relative unless stated), and why:
  Kaplan-Meier S, SE, band limits ........ 1e-10   same closed formulas, float round-off
                                                  (log-log band where S = 1: R NA, ours 1)
  medians and their CI limits ............ exact (1e-12 absolute): a time point is chosen
  counts (n, at risk, events, censored) .. exact
  log-rank chi2, O, E .................... 1e-9, p 1e-9 absolute
  Cox HR and CI limits ................... 1e-6, Wald p 1e-6 absolute (iterative fits)
  Clopper-Pearson limits ................. 1e-9   (beta quantiles, both sides)
"""
from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from harmonise.analysis import km, views
from harmonise.analysis.comparisons import select
from harmonise.analysis.cox import cox_hazard_ratios
from harmonise.analysis.logrank import logrank_test, stratified_logrank_test
from harmonise.analysis.plan import load_plan
from harmonise.analysis.response import DISEASE_CONTROL, OBJECTIVE

PLAN = load_plan()          # the reference study's plan (demo/study/plan.yaml)
ENDPOINT_COLUMNS = {"pfs": ("pfs_months", "pfs_event"), "os": ("os_months", "os_event")}
from tests import r_oracle
from tests.r_oracle import Job, one, r_value

KM_RTOL, LR_RTOL, COX_RTOL, COX_P_ATOL = 1e-10, 1e-9, 1e-6, 1e-6


def _close(a, b, rtol, atol=1e-12) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) \
            or (isinstance(b, float) and math.isnan(b)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


def _assert_close(label, ours, r, rtol, atol=1e-12):
    assert _close(ours, r, rtol, atol), f"{label}: harmonise {ours!r}, R {r!r}"


# ---------------------------------------------------------------- the datasets

def _edge_jobs() -> list[Job]:
    def job(name, t, e, g=None, levels=None, strata=None, marks=(1.0, 2.5, 4.0)):
        t = np.asarray(t, float)
        g = np.array(["a"] * t.size, object) if g is None else np.asarray(g, object)
        return Job(name, t, np.asarray(e, bool), g, tuple(levels or sorted(set(g))),
                   None if strata is None else np.asarray(strata, object), tuple(marks))
    ab = ["a"] * 5 + ["b"] * 5
    return [
        job("ties", [1, 1, 1, 2, 2, 3, 3, 3, 4, 5], [1, 1, 0, 1, 1, 1, 0, 1, 1, 0], ab,
            strata=["s1", "s2"] * 5),
        job("all_censored", [2, 3, 5, 6, 7, 1, 2, 3, 4, 4], [0] * 5 + [1, 1, 0, 1, 0], ab),
        job("single_subject", [7.0], [1]),
        job("median_not_reached", [1, 2, 3, 4, 5, 6], [1, 0, 0, 1, 0, 0]),
        job("half_on_flat_step", [1, 1, 2, 2, 3, 5], [1, 1, 1, 0, 0, 1]),
        job("half_to_the_end", [1, 2, 3, 4], [1, 1, 0, 0]),
        job("time_zero_events", [0, 0, 1, 2, 3, 4, 0, 2, 2, 5], [1, 0, 1, 1, 0, 1, 1, 1, 0, 1],
            ab, marks=(0.0, 1.0, 3.0)),
        job("three_groups", [1, 3, 4, 6, 8, 2, 2, 5, 7, 9, 1, 2, 3, 3, 4],
            [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0],
            ["x"] * 5 + ["y"] * 5 + ["z"] * 5, levels=("x", "y", "z"),
            strata=["c1", "c2", "c1", "c2", "c1"] * 3),
        job("group_without_events", [1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 9, 10, 3, 5, 7, 9],
            [1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0],
            ["x"] * 6 + ["y"] * 6 + ["z"] * 4, levels=("x", "y", "z")),
        job("missing_time", [1, 2, np.nan, 4, 5, 6, 3, 7], [1, 1, 1, 0, 1, 0, 1, 1],
            ["a"] * 4 + ["b"] * 4),
    ]


def _lung_jobs() -> list[Job]:
    from lifelines.datasets import load_lung
    lung = load_lung()
    event = lung["status"] == lung["status"].max()          # lifelines codes death 1, censored 0
    inst = lung["inst"].map(lambda v: "none" if pd.isna(v) else f"{v:g}").to_numpy(object)
    ecog = lung["ph.ecog"].map(lambda v: "NA" if pd.isna(v) else f"{v:g}").to_numpy(object)
    keep = ecog != "NA"
    t = lung["time"].to_numpy(float)
    return [Job("lung_sex", t, event.to_numpy(), lung["sex"].map("{:g}".format).to_numpy(object),
                ("1", "2"), inst, (180.0, 365.0, 730.0)),
            Job("lung_ecog", t[keep], event.to_numpy()[keep], ecog[keep], ("0", "1", "2", "3"),
                inst[keep], (180.0, 365.0))]


@pytest.fixture(scope="module")
def edge():
    jobs = _edge_jobs()
    return {j.name: j for j in jobs}, r_oracle.run(jobs, [("b1", 0, 7), ("b2", 7, 7),
                                                         ("b3", 18, 79), ("b4", 1, 1)])


@pytest.fixture(scope="module")
def lung():
    jobs = _lung_jobs()
    return {j.name: j for j in jobs}, r_oracle.run(jobs)


# ---------------------------------------------------------------- generic checks

def _check_km(job: Job, r: dict, rule: str = "print"):
    for value in job.levels:
        m = job.group == value
        if not np.any(~np.isnan(job.time[m])):
            continue
        for transform in km.TRANSFORMS:
            fit = km.kaplan_meier(job.time[m], job.event[m], transform=transform,
                                  median_rule=rule)
            where = f"{job.name}/{value}/{transform}"
            rk = r["km"][(r["km"]["job"] == job.name) & (r["km"]["group"] == value)
                         & (r["km"]["conf_type"] == transform)]
            tab = fit.table.set_index("time").loc[rk["time"].to_numpy()]
            for ours, theirs in (("at_risk", "n_risk"), ("events", "n_event"),
                                 ("censored", "n_censor")):
                np.testing.assert_array_equal(tab[ours].to_numpy(), rk[theirs].to_numpy(),
                                              err_msg=f"{where} {ours}")
            for col, rcol in (("survival", "surv"), ("std_err", "std_err"),
                              ("lower", "lower"), ("upper", "upper")):
                theirs = rk[rcol].to_numpy(float)
                if transform == "log-log" and col in ("lower", "upper"):
                    # R leaves the log-log band undefined (NA) where S = 1; harmonise
                    # draws it as [1, 1] there, as for the other transforms
                    theirs = np.where(rk["surv"].to_numpy() == 1, 1.0, theirs)
                np.testing.assert_allclose(tab[col].to_numpy(float), theirs,
                                           rtol=KM_RTOL, atol=1e-14, equal_nan=True,
                                           err_msg=f"{where} {col}")
            rm = one(r["median"], job=job.name, group=value, conf_type=transform)
            assert fit.n == rm["n"] and fit.events == rm["events"], where
            wanted = r_value(rm["median"]) if rule == "print" else r_value(rm["q_median"])
            _assert_close(f"{where} median ({rule})", fit.median, wanted, 0)
            if rule == "print":
                _assert_close(f"{where} median lower", fit.median_lower, r_value(rm["lcl"]), 0)
                _assert_close(f"{where} median upper", fit.median_upper, r_value(rm["ucl"]), 0)
            if job.landmarks and rule == "print":
                rl = r["landmark"][(r["landmark"]["job"] == job.name)
                                   & (r["landmark"]["group"] == value)
                                   & (r["landmark"]["conf_type"] == transform)]
                ours = km.survival_at(fit, rl["time"]).set_index("time")
                np.testing.assert_array_equal(ours["at_risk"], rl["n_risk"], err_msg=where)
                inside = rl["time"].to_numpy() <= np.nanmax(job.time[m])
                for col, rcol in (("survival", "surv"), ("lower", "lower"), ("upper", "upper")):
                    theirs = rl[rcol].to_numpy(float)
                    if transform == "log-log" and col != "survival":     # as above
                        theirs = np.where(rl["surv"].to_numpy() == 1, 1.0, theirs)
                    np.testing.assert_allclose(ours[col].to_numpy(float)[inside],
                                               theirs[inside], rtol=KM_RTOL,
                                               atol=1e-14, equal_nan=True,
                                               err_msg=f"{where} landmark {col}")


def _check_tests(job: Job, r: dict):
    strata = job.stratum if job.stratum is not None else np.full(job.time.size, "all", object)
    plain = logrank_test(job.time, job.event, job.group, groups=job.levels)
    strat = stratified_logrank_test(job.time, job.event, job.group, strata, groups=job.levels)
    rows = r["logrank"][r["logrank"]["job"] == job.name]
    if rows.empty:                   # R does not test: fewer than two groups or no event
        assert math.isnan(plain.chi2) and plain.df == 0, job.name
        return
    for res, flag in ((plain, False), (strat, True)):
        rr = one(rows, stratified=flag)
        _assert_close(f"{job.name} chi2 strat={flag}", res.chi2, rr["chisq"], LR_RTOL)
        _assert_close(f"{job.name} p strat={flag}", res.p, rr["p"], LR_RTOL, 1e-9)
        assert res.df == rr["df"]
        oe = r["oe"][(r["oe"]["job"] == job.name) & (r["oe"]["stratified"] == flag)]
        for _, row in oe.iterrows():
            i = job.levels.index(row["group"])
            assert res.n[i] == row["n"]
            _assert_close(f"{job.name} O {row['group']}", res.observed[i], row["observed"],
                          LR_RTOL)
            _assert_close(f"{job.name} E {row['group']}", res.expected[i], row["expected"],
                          LR_RTOL)
    hrs = cox_hazard_ratios(job.time, job.event, job.group, reference=job.levels[0],
                            groups=job.levels, strata=strata).set_index("group")
    for _, row in r["cox"][r["cox"]["job"] == job.name].iterrows():
        ours = hrs.loc[row["group"]]
        if abs(row["coef"]) > 10:                 # R's coefficient ran off to infinity
            assert math.isnan(ours["hr"]) and ours["note"].startswith("not estimable"), job.name
            continue
        for col, rcol in (("hr", "hr"), ("hr_lower", "lower"), ("hr_upper", "upper")):
            _assert_close(f"{job.name} {row['group']} {col}", ours[col], row[rcol], COX_RTOL)
        _assert_close(f"{job.name} {row['group']} p", ours["hr_p"], row["p"], 0, COX_P_ATOL)


# ---------------------------------------------------------------- lung and edge cases

@pytest.mark.parametrize("name", ["lung_sex", "lung_ecog"])
def test_lung_kaplan_meier_bands_medians_and_landmarks_match_r_survfit(lung, name):
    jobs, r = lung
    _check_km(jobs[name], r)


@pytest.mark.parametrize("name", ["lung_sex", "lung_ecog"])
def test_lung_logrank_stratified_logrank_and_cox_match_r(lung, name):
    jobs, r = lung
    _check_tests(jobs[name], r)


@pytest.mark.parametrize("name", [j.name for j in _edge_jobs()])
def test_edge_case_kaplan_meier_matches_r_print_survfit(edge, name):
    jobs, r = edge
    _check_km(jobs[name], r)


@pytest.mark.parametrize("name", ["half_on_flat_step", "half_to_the_end", "ties"])
def test_edge_case_midpoint_median_rule_matches_r_quantile_survfit(edge, name):
    jobs, r = edge
    _check_km(jobs[name], r, rule="midpoint")


@pytest.mark.parametrize("name", [j.name for j in _edge_jobs()])
def test_edge_case_tests_and_hazard_ratios_match_r(edge, name):
    jobs, r = edge
    _check_tests(jobs[name], r)


def test_missing_time_is_dropped_and_counted_like_r(edge):
    jobs, r = edge
    job = jobs["missing_time"]
    res = logrank_test(job.time, job.event, job.group)
    assert res.missing == 1 and res.n.sum() == 7
    assert km.kaplan_meier(job.time, job.event).missing == 1
    assert one(r["median"], job="missing_time", group="a", conf_type="log")["n"] == 3


def test_group_without_events_keeps_the_other_hazard_ratio_and_flags_its_own(edge):
    jobs, r = edge
    job = jobs["group_without_events"]
    hrs = cox_hazard_ratios(job.time, job.event, job.group, reference="x",
                            groups=job.levels).set_index("group")
    rz = one(r["cox"], job=job.name, group="z")
    assert rz["coef"] < -10                      # R: the coefficient runs to -infinity
    assert math.isnan(hrs.loc["z", "hr"]) and "no event" in hrs.loc["z", "note"]
    assert np.isfinite(hrs.loc["y", "hr"]) and hrs.loc["y", "note"] == ""


def test_clopper_pearson_limits_match_r_binom_test(edge):
    from harmonise.analysis.response import proportion_ci
    _, r = edge
    for _, row in r["binom"].iterrows():
        rate, lower, upper = proportion_ci(int(row["x"]), int(row["n"]))
        _assert_close(f"{row['id']} lower", lower, row["lower"], 1e-9)
        _assert_close(f"{row['id']} upper", upper, row["upper"], 1e-9)


# ---------------------------------------------------------------- the demo report

def _group_key(value) -> str:
    return str(value)


@pytest.fixture(scope="module")
def demo(demo_warehouse, report_json):
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        p = views.patients(con)
    finally:
        con.close()
    ticks = sorted({r["time"] for r in report_json["figure_at_risk"]})
    jobs = []
    for c in PLAN.comparisons:
        rows = select(p, c)
        for ep, (tcol, ecol) in ENDPOINT_COLUMNS.items():
            jobs.append(Job(f"{c.name}/{ep}", rows[tcol].to_numpy(float),
                            rows[ecol].to_numpy(bool),
                            rows[c.by].map(_group_key).to_numpy(object),
                            tuple(_group_key(v) for v in c.groups),
                            rows["center_id"].to_numpy(object), tuple(ticks)))
    for ep, (tcol, ecol) in ENDPOINT_COLUMNS.items():
        jobs.append(Job(f"all/{ep}", p[tcol].to_numpy(float), p[ecol].to_numpy(bool),
                        np.full(len(p), "all", object), ("all",), p["center_id"].to_numpy(object),
                        tuple(sorted(set(ticks) | set(PLAN.landmarks[ep])))))
    jobs.append(Job("followup", p["os_months"].to_numpy(float), ~p["os_event"].to_numpy(bool),
                    np.full(len(p), "all", object), ("all",), None))
    binom = [(f"{i}/{what}", int(sum(row[x] for x in codes)), int(row["n"]))
             for i, row in enumerate(report_json["response"]) if row["n"]
             for what, codes in (("orr", OBJECTIVE), ("dcr", DISEASE_CONTROL))]
    return r_oracle.run(jobs, binom)


def test_demo_report_comparisons_match_r(report_json, demo):
    checked = 0
    for row in report_json["comparisons"]:
        job = f"{row['comparison']}/{row['endpoint']}"
        g = row["group_value"]
        checked += 1
        rm = one(demo["median"], job=job, group=g, conf_type=row["transform"])
        where = f"{job}/{g}"
        assert (row["n"], row["events"]) == (rm["n"], rm["events"]), where
        for ours, theirs in (("median", "median"), ("median_lower", "lcl"),
                             ("median_upper", "ucl")):
            _assert_close(f"{where} {ours}", row[ours], r_value(rm[theirs]), 0)
        for flag, chi, p in ((False, "chi2", "p"), (True, "strat_chi2", "strat_p")):
            rr = one(demo["logrank"], job=job, stratified=flag)
            _assert_close(f"{where} {chi}", row[chi], rr["chisq"], LR_RTOL)
            _assert_close(f"{where} {p}", row[p], rr["p"], LR_RTOL, 1e-9)
        ro = one(demo["oe"], job=job, stratified=False, group=g)
        _assert_close(f"{where} observed", row["observed"], ro["observed"], LR_RTOL)
        _assert_close(f"{where} expected", row["expected"], ro["expected"], LR_RTOL)
        if not row["is_reference"]:
            rc = one(demo["cox"], job=job, group=g)
            if abs(rc["coef"]) > 10:             # R's coefficient ran off to infinity
                assert row["hr"] is None and row["hr_note"].startswith("not estimable"), where
                continue
            for ours, theirs in (("hr", "hr"), ("hr_lower", "lower"), ("hr_upper", "upper")):
                _assert_close(f"{where} {ours}", row[ours], rc[theirs], COX_RTOL)
            _assert_close(f"{where} hr_p", row["hr_p"], rc["p"], 0, COX_P_ATOL)
    assert checked == len(report_json["comparisons"]) > 40


def test_demo_report_summary_landmarks_and_followup_match_r(report_json, demo):
    for row in report_json["km_summary"]:
        rm = one(demo["median"], job=f"all/{row['endpoint']}", group="all",
                 conf_type=row["transform"])
        assert (row["n"], row["events"]) == (rm["n"], rm["events"])
        for ours, theirs in (("median", "median"), ("median_lower", "lcl"),
                             ("median_upper", "ucl")):
            _assert_close(f"{row['endpoint']} {ours}", row[ours], r_value(rm[theirs]), 0)
    for row in report_json["landmarks"]:
        rl = one(demo["landmark"], job=f"all/{row['endpoint']}", group="all",
                 conf_type=row["transform"], time=row["time"])
        assert row["at_risk"] == rl["n_risk"]
        for col, rcol in (("survival", "surv"), ("lower", "lower"), ("upper", "upper")):
            _assert_close(f"landmark {row['endpoint']} {row['time']} {col}", row[col],
                          rl[rcol], KM_RTOL)
    fu = report_json["followup"][0]
    rm = one(demo["median"], job="followup", group="all", conf_type=fu["transform"])
    for ours, theirs in (("median", "median"), ("median_lower", "lcl"),
                         ("median_upper", "ucl")):
        _assert_close(f"follow-up {ours}", fu[ours], r_value(rm[theirs]), 0)


def test_demo_report_figure_medians_and_numbers_at_risk_match_r(report_json, demo):
    panels = {f["key"]: f for f in report_json["figures"]}
    for row in report_json["figure_curves"]:
        fig = panels[row["key"]]
        job = f"{fig['comparison']}/{fig['endpoint']}"
        rm = one(demo["median"], job=job, group=row["group_value"], conf_type=row["transform"])
        assert (row["n"], row["events"]) == (rm["n"], rm["events"]), job
        _assert_close(f"{row['key']} median", row["median"], r_value(rm["median"]), 0)
    for row in report_json["figure_at_risk"]:
        fig = panels[row["key"]]
        job = f"{fig['comparison']}/{fig['endpoint']}"
        rl = one(demo["landmark"], job=job, group=row["group_value"], conf_type="log",
                 time=row["time"])
        assert row["at_risk"] == rl["n_risk"], f"{row['key']} {row['group_value']} {row['time']}"


def test_demo_report_response_rates_match_r_binom_test(report_json, demo):
    rows = demo["binom"].set_index("id")
    assert len(rows) > 10
    for i, row in enumerate(report_json["response"]):
        if not row["n"]:
            continue
        for what in ("orr", "dcr"):
            rb = rows.loc[f"{i}/{what}"]
            _assert_close(f"{row['label']} {what} lower", row[f"{what}_lower"], rb["lower"], 1e-9)
            _assert_close(f"{row['label']} {what} upper", row[f"{what}_upper"], rb["upper"], 1e-9)
