"""plan.yaml: the reference study's plan loads, its generated views are the warehouse's
default views, and a broken plan is refused with the file, the key and a hint."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harmonise.analysis import plan_sql
from harmonise.analysis.plan import EXAMPLE_PLAN, PlanError, load_plan
from harmonise.warehouse.store import SQL_DIR


def test_warehouse_view_files_are_generated_from_the_example_plan():
    plan = load_plan(EXAMPLE_PLAN)
    for name, make in plan_sql.VIEW_FILES.items():
        committed = (SQL_DIR / name).read_text(encoding="utf-8")
        assert committed == make(plan), f"warehouse/sql/{name} is stale: run `make views`"


def test_example_plan_declares_the_reference_studys_analyses():
    plan = load_plan(EXAMPLE_PLAN)
    assert plan.days_per_month == 30.4375
    assert [e.name for e in plan.endpoints] == ["pfs", "os"]
    assert len(plan.comparisons) == 11 and len(plan.figures) == 4
    assert plan.landmarks == {"pfs": (3.0, 6.0, 12.0), "os": (6.0, 12.0, 18.0)}
    groups = plan.derived_column("histology_group")
    assert [lv.code for lv in groups.levels] == ["sensitive", "potentially_sensitive", "other"]
    assert groups.level("potentially_sensitive").label.endswith("AS)")   # not cut at commas
    assert plan.published is not None and plan.published.numbers.is_file()


def _write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    change(data)
    data.pop("published", None)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, key, words", [
    (lambda d: d["comparisons"]["asps_vs_non_asps"].update(by="is_aspz"),
     "comparisons.asps_vs_non_asps", "unknown column 'is_aspz'"),
    (lambda d: d["comparisons"]["asps_vs_non_asps"].update(groups=[False, "maybe"]),
     "comparisons.asps_vs_non_asps.groups", "'maybe' is not a code of 'is_asps'"),
    (lambda d: d["comparisons"]["histology_groups"].update(population="nobody"),
     "comparisons.histology_groups", "unknown population 'nobody'"),
    (lambda d: d["derived"]["line_group"]["levels"]["later"].pop("otherwise"),
     "derived.line_group.levels.later", "either `when`"),
    (lambda d: d["derived"]["ecog_group"]["levels"]["0"].update(when={"ecgo": 0}),
     "derived.ecog_group.levels.0.when.ecgo", "unknown column 'ecgo'"),
    (lambda d: d["endpoints"]["os"].update(events=["death"]),
     "endpoints.os", "'death' is not a date"),
    (lambda d: d.update(landmarks={"dfs": [12]}), "landmarks.dfs", "unknown endpoint 'dfs'"),
    (lambda d: d["figures"][0].update(panels=["nothing"]), "figures[0].panels[0]",
     "unknown comparison 'nothing'"),
    (lambda d: d.update(comparison={}), "", "unknown key 'comparison'"),
])
def test_a_broken_plan_names_file_key_and_hint(tmp_path, change, key, words):
    path = _write(tmp_path, change)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    err = caught.value
    assert err.path == path and err.key == key and words in err.problem, str(err)
    assert str(path) in str(err) and "Hint:" in str(err)


def test_a_plan_that_is_not_yaml_says_where(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("endpoints:\n  pfs: [\n", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid YAML at line"):
        load_plan(path)


def test_plan_values_are_quoted_in_the_generated_sql(tmp_path):
    path = _write(tmp_path, lambda d: d["derived"]["histology_group"]["levels"]["other"]
                  .update(when={"histology": ["O'Brien"]}))
    sql = plan_sql.patient_view(load_plan(path))
    assert "'O''Brien'" in sql


def test_harmonise_init_writes_a_starter_plan_that_validates(tmp_path):
    from harmonise.flows.scaffold import init_project
    project = init_project(tmp_path / "new-study")
    plan = load_plan(project / "plan.yaml")
    assert [e.name for e in plan.endpoints] == ["pfs", "os"] and plan.published is None
    assert {c.by for c in plan.comparisons} == {"sex", "ecog_group"}
    assert plan_sql.patient_view(plan).count("CASE WHEN ecog = 0") == 1
