"""End to end on the bundled demo exports: real files in three shapes -> real DuckDB file."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from harmonise.demo.cohort import build_cohort
from tests.conftest import ingest_all
from harmonise.warehouse.store import DATA_TABLES, table_checksum


def test_demo_loads_79_patients_52_16_11_with_nothing_quarantined(demo_con, published):
    per_center = dict(demo_con.execute(
        "SELECT center_id, count(*) FROM patient GROUP BY 1").fetchall())
    assert per_center == {c: v["n"] for c, v in published["centers"].items()}
    assert sum(per_center.values()) == 79
    assert demo_con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert demo_con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 79


def _table1_counts(rows: pd.DataFrame) -> dict:
    """Table 1 cells of one column, in the published file's nesting."""
    def count(column, value):
        return int((rows[column] == value).sum())
    return {
        "n": len(rows),
        "sex": {s: count("sex", s) for s in ("female", "male")},
        "primary_site": {s: count("primary_site", s)
                         for s in ("extremity", "retroperitoneum", "trunk", "other")},
        "metastasis": {"lung": int(rows.lung_metastasis.sum()), "other": int(rows.other_metastasis.sum())},
        "ecog": {0: count("ecog", 0), 1: count("ecog", 1), 2: count("ecog", 2),
                 3: int((rows.ecog >= 3).sum())},
        "regimen": {r: count("regimen_class", r) for r in ("I", "I+A", "I+C", "I+A+C")},
        "local_treatment": int(rows.has_local_treatment.sum()),
    }


def test_table1_counts_by_histology_match_published(demo_con, published):
    patients = demo_con.execute("SELECT * FROM v_patient").df()
    columns = {**published["table1"], "total": published["table1_total"]}
    for histology, expected in columns.items():
        rows = patients if histology == "total" else patients[patients.histology == histology]
        got = _table1_counts(rows)
        for key, value in got.items():
            assert value == expected[key], f"{histology} {key}"


def test_table1_age_and_prior_line_medians_and_ranges_match_published(demo_con, published):
    patients = demo_con.execute("SELECT histology, age_years, prior_lines FROM v_patient").df()
    columns = {**published["table1"], "total": published["table1_total"]}
    for histology, expected in columns.items():
        rows = patients if histology == "total" else patients[patients.histology == histology]
        for column, key in (("age_years", "age"), ("prior_lines", "prior_lines")):
            values = rows[column]
            assert (values.median(), values.min(), values.max()) == (
                expected[key]["median"], expected[key]["min"], expected[key]["max"]), f"{histology} {key}"


def test_table2_worst_grade_counts_match_published(demo_con, published):
    worst = demo_con.execute(
        "SELECT term, worst_grade, count(*) AS n FROM v_adverse_event_worst GROUP BY ALL").df()
    for term, expected in published["table2"].items():
        rows = worst[worst.term == term]
        for grade in (1, 2, 3, 4):
            got = int(rows.loc[rows.worst_grade == grade, "n"].sum())
            assert got == expected.get(f"grade{grade}", 0), f"{term} grade {grade}"
        assert int(rows.n.sum()) == expected["any"], term


def test_best_response_counts_match_published(demo_con, published):
    bor = demo_con.execute("SELECT best_response, is_asps, count(*) FROM v_response GROUP BY ALL").fetchall()
    overall, asps = {}, {}
    for response, is_asps, n in bor:
        overall[response] = overall.get(response, 0) + n
        if is_asps:
            asps[response] = n
    for response, n in published["best_response"]["overall"].items():
        assert overall.get(response, 0) == n, response
    for response, n in published["best_response"]["ASPS"].items():
        assert asps.get(response, 0) == n, response


def test_forced_rerun_gives_identical_tables(tmp_path, settings_for, inbox_copy):
    settings = settings_for(inbox_copy)
    ingest_all(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        first = {t: table_checksum(con, t) for t in (*DATA_TABLES, "quarantine")}
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DATA_TABLES}
    assert all(r.status == "loaded" for r in ingest_all(settings, force=True).values())
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        second = {t: table_checksum(con, t) for t in (*DATA_TABLES, "quarantine")}
        again = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DATA_TABLES}
        attempts = con.execute("SELECT count(DISTINCT run_id) FROM load_log").fetchone()[0]
    assert second == first
    assert again == counts            # replaced, never duplicated
    assert attempts == 2              # but the audit trail keeps both runs


def test_undeclared_column_fails_that_center_only(settings_for, inbox_copy):
    path = inbox_copy / "site_a" / "site_a_patients.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["Home address"] = "somewhere"
    frame.to_csv(path, index=False)
    results = ingest_all(settings_for(inbox_copy))
    assert results["site_a"].status == "failed"
    message = results["site_a"].message
    for part in ("center site_a", "site_a_patients.csv", "'Home address'", "Hint", "identifier: drop"):
        assert part in message
    assert results["site_b"].status == results["site_c"].status == "loaded"


def test_unreadable_file_fails_that_center_only_and_keeps_its_previous_rows(settings_for, inbox_copy):
    settings = settings_for(inbox_copy)
    ingest_all(settings)
    (inbox_copy / "site_c" / "site_c_patients.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x82\x83;;\n")
    results = ingest_all(settings)
    assert results["site_c"].status == "failed"
    assert "site_c_patients.csv" in results["site_c"].message
    assert "encoding" in results["site_c"].message
    assert {results["site_a"].status, results["site_b"].status} == {"skipped"}   # unchanged
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        per_center = dict(con.execute("SELECT center_id, count(*) FROM patient GROUP BY 1").fetchall())
        log = con.execute("SELECT any_value(status) FROM load_log WHERE center_id = 'site_c' "
                          "GROUP BY run_id ORDER BY min(started_at)").fetchall()
    assert per_center["site_c"] == 11            # the previous good load survives
    assert [status for (status,) in log] == ["loaded", "failed"]


def test_missing_column_names_center_file_column_and_suggests_the_rename(settings_for, inbox_copy):
    path = inbox_copy / "site_a" / "site_a_adverse_events.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns={"CTCAE grade": "CTCAE Grade"})
    frame.to_csv(path, index=False)
    results = ingest_all(settings_for(inbox_copy))
    message = results["site_a"].message
    assert results["site_a"].status == "failed"
    assert "'CTCAE grade'" in message and "site_a_adverse_events.csv" in message
    assert "CTCAE Grade" in message            # the "was the column renamed?" hint


def test_no_identifier_from_any_export_reaches_the_warehouse_file(demo_warehouse):
    cohort = build_cohort()
    identifiers = set()
    for column in ("mrn", "name", "phone", "national_id"):
        identifiers |= set(cohort.patients[column].astype(str))
    raw = demo_warehouse.read_bytes()
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        text = "\n".join(con.execute(f"SELECT * FROM {t}").df().astype(str).to_csv() for t in tables)
    leaked = sorted(v for v in identifiers if v in text or v.encode() in raw)
    assert leaked == []
    assert len(identifiers) >= 79 * 3


def test_unchanged_export_is_skipped_changed_one_reloads_and_force_reloads_all(settings_for, inbox_copy):
    settings = settings_for(inbox_copy)
    assert {r.status for r in ingest_all(settings).values()} == {"loaded"}
    assert {r.status for r in ingest_all(settings).values()} == {"skipped"}
    path = inbox_copy / "site_c" / "site_c_patients.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))                     # site_c sends one patient fewer
    results = ingest_all(settings)
    assert {c: r.status for c, r in results.items()} == {
        "site_a": "skipped", "site_b": "skipped", "site_c": "loaded"}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM patient WHERE center_id = 'site_c'").fetchone()[0] == 10
        skipped = con.execute("SELECT count(*) FROM load_log WHERE status = 'skipped'").fetchone()[0]
    assert skipped == 3 + 2                                     # every attempt is in the audit trail
    assert {r.status for r in ingest_all(settings, force=True).values()} == {"loaded"}


def test_a_broken_mapping_fails_its_center_only(tmp_path, inbox_copy):
    import shutil
    from harmonise.flows.settings import DEMO_MAPPINGS, Settings
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    text = (mappings / "site_b.yaml").read_text(encoding="utf-8")
    (mappings / "site_b.yaml").write_text(text.replace("vocab: sex", "vocabulary: sex"), encoding="utf-8")
    results = ingest_all(Settings(home=tmp_path / "home", inbox=inbox_copy, mappings_dir=mappings,
                                  demo_key=True))
    assert results["site_b"].status == "failed"
    assert "site_b.yaml, line" in results["site_b"].message and "Did you mean 'vocab'" in results["site_b"].message
    assert results["site_a"].status == results["site_c"].status == "loaded"


def test_an_event_repeated_across_two_files_loads_once(tmp_path, inbox_copy):
    import shutil
    from harmonise.flows.settings import DEMO_MAPPINGS, Settings
    from harmonise.flows import steps
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    spec = (mappings / "site_a.yaml").read_text(encoding="utf-8")
    second = spec[spec.index("  - role: adverse_events"):].replace(
        "site_a_adverse_events.csv", "site_a_adverse_events_2.csv")
    (mappings / "site_a.yaml").write_text(spec + "\n" + second, encoding="utf-8")
    events = pd.read_csv(inbox_copy / "site_a" / "site_a_adverse_events.csv", dtype=str, keep_default_na=False)
    dated = events[events["Onset date"] != ""]
    dated.head(3).to_csv(inbox_copy / "site_a" / "site_a_adverse_events_2.csv", index=False)
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, mappings_dir=mappings, demo_key=True)
    batch = steps.build_batch("site_a", settings, steps.pseudonym_key(settings))
    assert list(batch.quarantine.check_name) == ["duplicate_event"] * 3
    assert set(batch.quarantine.source_file) == {"site_a_adverse_events_2.csv"}
    assert len(batch.clean["adverse_event"]) == len(events)
