"""Table 1 and Table 2 computed on the demo warehouse equal the published study's counts."""
from __future__ import annotations

import duckdb
import pytest

from harmonise.analysis import tables
from harmonise.analysis.plan import load_plan

PLAN = load_plan()                     # the reference study's (demo/study/plan.yaml)
TITLES = tables.section_titles(PLAN.table1)

PUBLISHED_ECOG = {0: "0", 1: "1", 2: "2", 3: ">=3"}     # the paper's "3" column means >= 3


def _cells(con) -> dict:
    data = tables.table1_data(con, PLAN)
    return {(r.section, r.item, r.column): r.value for r in data.itertuples()}


def _expected_counts(spec: dict) -> dict:
    """(section, item) -> count, from one published Table 1 column."""
    out = {("patients", "n"): spec["n"], ("local_treatment", "any"): spec["local_treatment"]}
    for stat in ("median", "min", "max"):
        out[("age", stat)] = spec["age"][stat]
        out[("prior_lines", stat)] = spec["prior_lines"][stat]
    for section in ("sex", "primary_site", "metastasis", "regimen"):
        out.update({(section, item): n for item, n in spec[section].items()})
    out.update({("ecog", PUBLISHED_ECOG[k]): n for k, n in spec["ecog"].items()})
    for item in ("any", "none"):
        if item in spec["prior_lines"]:
            out[("prior_lines", item)] = spec["prior_lines"][item]
    return out


def test_table1_columns_equal_published_per_histology(demo_con, published):
    cells = _cells(demo_con)
    for histology, spec in published["table1"].items():
        for (section, item), expected in _expected_counts(spec).items():
            assert cells[(section, item, histology)] == expected, (histology, section, item)


def test_table1_total_column_equals_published(demo_con, published):
    cells = _cells(demo_con)
    for (section, item), expected in _expected_counts(published["table1_total"]).items():
        assert cells[(section, item, "Total")] == expected, (section, item)


def test_table1_percentages_are_of_the_column_patients(demo_con, published):
    data = tables.table1_data(demo_con, PLAN).set_index(["section", "item", "column"])
    n = published["n_patients"]
    assert data.loc[("sex", "female", "Total"), "percent"] == pytest.approx(100 * 37 / n)
    assert data.loc[("sex", "female", "ASPS"), "percent"] == pytest.approx(100 * 9 / 20)


def test_table1_display_uses_clinician_labels(demo_con, published):
    shown = tables.table1(tables.table1_data(demo_con, PLAN), TITLES)
    assert list(shown.columns)[0] == f"ASPS (n={published['table1']['ASPS']['n']})"
    assert shown.columns[-1] == f"Total (n={published['n_patients']})"
    assert shown.loc[("Sex", "Female"), shown.columns[-1]] == "37 (46.8%)"
    assert shown.loc[("ECOG performance status", "\u22653"), "ASPS (n=20)"] == "2"
    assert shown.loc[("Age (years)", "Range"), shown.columns[-1]] == "18-71"
    assert ("Therapeutic regimen", "PD-1 inhibitor monotherapy") in shown.index


def test_table2_counts_by_worst_grade_equal_published(demo_con, published):
    data = tables.table2_data(demo_con).set_index("term")
    for term, spec in published["table2"].items():
        got = data.loc[term]
        for grade in (1, 2, 3, 4):
            assert got[f"grade{grade}"] == spec[f"grade{grade}"], (term, grade)
        assert got["any_grade"] == spec["any"], term
    assert (data["grade5"] == published["adverse_events"]["grade5"]).all()
    assert data.loc["(any)", "any_grade"] == published["adverse_events"]["patients_with_any"]


def test_table2_percentages_are_of_all_loaded_patients(demo_con, published):
    data = tables.table2_data(demo_con).set_index("term")
    n = published["n_patients"]
    assert (data["patients"] == n).all()
    spec = published["table2"]["hypertension"]
    assert data.loc["hypertension", "pct_any_grade"] == pytest.approx(100 * spec["any"] / n)
    shown = tables.table2(tables.table2_data(demo_con))
    assert list(shown.columns) == ["Grade I", "Grade II", "Grade III", "Grade IV", "Total"]
    assert shown.loc["Myelosuppression", "Total"] == "29 (36.7%)"
    assert shown.loc["Fatigue", "Grade III"] == "0"


@pytest.fixture
def empty_con(demo_warehouse):
    """An in-memory database with the demo's views as EMPTY tables and its ref_code."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_warehouse}' AS src (READ_ONLY)")
    for name in ("v_patient", "v_adverse_event_worst", "v_response"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM src.{name} LIMIT 0")
    for name in ("ref_code", "study_config"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM src.{name}")
    con.execute("DETACH src")
    yield con
    con.close()


def test_tables_on_empty_warehouse_give_zero_counts(empty_con):
    data = tables.table1_data(empty_con, PLAN)
    assert set(data["column"]) == {"Total"}
    assert data.loc[data["item"] == "female", "value"].item() == 0
    assert data.loc[(data["section"] == "age") & (data["item"] == "median"), "value"].isna().all()
    t2 = tables.table2_data(empty_con)
    assert (t2["any_grade"] == 0).all() and t2["pct_any_grade"].isna().all()
    assert tables.table1(tables.table1_data(empty_con, PLAN), TITLES).shape[1] == 1 and len(tables.table2(tables.table2_data(empty_con))) == len(t2)
