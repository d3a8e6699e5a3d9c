"""The demo report's numbers survive refactoring: every statistic equals the copy of
``numbers/report.json`` taken before the tool/study redesign (tests/data/, written by the
pipeline at commit 79d3442, not typed by hand).

Only what a run legitimately changes is left out: timestamps, run and load ids, file paths.
Where an issue deliberately changes a statistic, the change is listed in ``DELIBERATE`` with
the issue that asks for it, and the new value is pinned there; ``MOVED_WITHIN`` bounds the
fields an issue moves by a small amount everywhere (Cox fitted to R's maximum).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

BASELINE = Path(__file__).with_name("data") / "report_numbers_before_redesign.json"

#: Sections compared whole (every row, every field).
STAT_SECTIONS = ("km_summary", "landmarks", "followup", "comparisons", "response", "table1",
                 "table1_display", "table2", "table2_display", "figures", "figure_curves",
                 "figure_at_risk", "quarantine_counts", "paper_comparison")
#: Fields that describe the run, not the data.
RUN_FIELDS = {"generated_at", "run_id", "load_id", "started_at", "finished_at", "path", "file"}

DAYS_PER_MONTH = 30.4375
_ASPS_MONO_OS = 608 / DAYS_PER_MONTH
"""ASPS, PD-1 monotherapy, OS: S = 0.5 from day 608 to the end of follow-up. R's
print.survfit quotes the start of that plateau (19.98 months); the midpoint rule gave 21.8."""
_MEDIAN = "issue 14 item 2: the median follows R's print.survfit (start of an exact 0.5 " \
          "plateau lasting to the end of follow-up)"
_NOTE = "issue 14 item 5: the reason a hazard ratio is withheld is said in words"

#: (section, row predicate, field) -> (the new value, the issue and reason that change it).
DELIBERATE: dict = {
    ("comparisons", (("comparison", "asps_combination_vs_monotherapy"), ("endpoint", "os"),
                     ("group_value", "monotherapy")), "median"): (_ASPS_MONO_OS, _MEDIAN),
    ("figure_curves", (("key", "fig3d_os_asps_monotherapy_vs_combination"),
                       ("group_value", "monotherapy")), "median"): (_ASPS_MONO_OS, _MEDIAN),
    ("paper_comparison", (("id", "median.os_asps_monotherapy"),), "ours"):
        (_ASPS_MONO_OS, _MEDIAN),
    ("paper_comparison", (("id", "median.os_asps_monotherapy"),), "ours_text"):
        ("20.0 (20.0\u2013NR)", _MEDIAN),
    ("paper_comparison", (("id", "median.os_asps_monotherapy"),), "difference"):
        (_ASPS_MONO_OS - 29.0, _MEDIAN),
    ("comparisons", (("comparison", "asps_combination_vs_monotherapy"), ("endpoint", "os"),
                     ("group_value", "combination")), "hr_note"):
        ("not estimable: infinite estimate (monotone likelihood)", _NOTE),
    ("comparisons", (("comparison", "asps_le2_vs_later_lines"), ("endpoint", "os"),
                     ("group_value", "<=2")), "hr_note"):
        ("not estimable: no event in the group (hazard ratio 0, infinite log HR)", _NOTE),
}

#: (section, field) -> (largest relative move from the old value, the issue and reason).
#: The new values themselves are pinned to R's coxph (1e-6) by tests/test_r_oracle.py.
MOVED_WITHIN: dict = {
    ("comparisons", field): (1e-3, "issue 14 item 3: Cox fitted to R's maximum instead of "
                                   "lifelines' default stopping (moves up to 3.3e-4)")
    for field in ("hr", "hr_lower", "hr_upper", "hr_p")
}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _deliberate(section: str, row: dict, field: str, old, new) -> bool:
    """True when the change of ``field`` in ``row`` is one DELIBERATE or MOVED_WITHIN allows."""
    for (sec, where, name), (value, _reason) in DELIBERATE.items():
        if sec == section and name == field and all(row.get(k) == v for k, v in where):
            return _same(value, new)
    if (section, field) in MOVED_WITHIN and isinstance(old, float) and isinstance(new, float):
        return math.isclose(old, new, rel_tol=MOVED_WITHIN[section, field][0])
    return False


def _diff(old, new, where: str, out: list[str], section: str = "", row=None) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in RUN_FIELDS:
                continue
            if key not in old or key not in new:
                out.append(f"{where}.{key}: only in {'old' if key in old else 'new'}")
                continue
            if not isinstance(old[key], (dict, list)) and not _same(old[key], new[key]) \
                    and _deliberate(section, new, key, old[key], new[key]):
                continue
            _diff(old[key], new[key], f"{where}.{key}", out, section, new)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{where}: {len(old)} rows before, {len(new)} now")
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(a, b, f"{where}[{i}]", out, section)
    elif not _same(old, new):
        out.append(f"{where}: {old!r} before, {new!r} now")


@pytest.fixture(scope="module")
def baseline() -> dict:
    return json.loads(BASELINE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("section", STAT_SECTIONS)
def test_demo_report_section_equals_the_copy_taken_before_the_redesign(section, baseline,
                                                                        report_json):
    differences: list[str] = []
    _diff(baseline[section], report_json[section], section, differences, section)
    assert differences == [], "\n".join(differences[:40])


def test_demo_report_meta_keeps_cutoff_centers_and_patient_count(baseline, report_json):
    for key in ("cutoff", "centers", "patients", "transform", "conf_level", "months_per_day"):
        assert report_json["meta"][key] == baseline["meta"][key], key


def test_every_deliberate_change_happened(baseline, report_json):
    """A DELIBERATE entry whose change did not happen is stale: the pinned value must be the
    report's value and differ from the copy taken before."""
    for (section, where, field), (value, reason) in DELIBERATE.items():
        rows = [r for r in report_json[section] if all(r.get(k) == v for k, v in where)]
        old = [r for r in baseline[section] if all(r.get(k) == v for k, v in where)]
        assert len(rows) == len(old) == 1, (section, where)
        assert _same(rows[0][field], value), (section, where, field, reason)
        assert not _same(old[0][field], value), (section, where, field, "did not change")
