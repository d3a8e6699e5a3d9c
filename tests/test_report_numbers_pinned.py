"""The demo report's numbers survive refactoring: every statistic equals the copy of
``numbers/report.json`` taken before the tool/study redesign (tests/data/, written by the
pipeline at commit 79d3442, not typed by hand).

Only what a run legitimately changes is left out: timestamps, run and load ids, file paths.
Where an issue deliberately changes a statistic, the change is listed in ``DELIBERATE`` with
the issue that asks for it, and the new value is pinned there.
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

#: (section, row predicate, field) -> the new value, with the issue that changes it.
DELIBERATE: dict = {}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _diff(old, new, where: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in RUN_FIELDS:
                continue
            if key not in old or key not in new:
                out.append(f"{where}.{key}: only in {'old' if key in old else 'new'}")
                continue
            _diff(old[key], new[key], f"{where}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{where}: {len(old)} rows before, {len(new)} now")
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(a, b, f"{where}[{i}]", out)
    elif not _same(old, new):
        out.append(f"{where}: {old!r} before, {new!r} now")


@pytest.fixture(scope="module")
def baseline() -> dict:
    return json.loads(BASELINE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("section", STAT_SECTIONS)
def test_demo_report_section_equals_the_copy_taken_before_the_redesign(section, baseline,
                                                                        report_json):
    differences: list[str] = []
    _diff(baseline[section], report_json[section], section, differences)
    differences = [d for d in differences if d not in DELIBERATE]
    assert differences == [], "\n".join(differences[:40])


def test_demo_report_meta_keeps_cutoff_centers_and_patient_count(baseline, report_json):
    for key in ("cutoff", "centers", "patients", "transform", "conf_level", "months_per_day"):
        assert report_json["meta"][key] == baseline["meta"][key], key
