"""docs/adding-a-center.md, followed on the synthetic site_d export in a private copy of mappings/.

profile -> new-center -> check (fails, listing what is left) -> the finished mapping the doc
shows -> check (exit 0) -> ingest together with the three study centers -> site_d's patients
are in v_patient and in the pooled Kaplan-Meier estimate. No code changes: YAML only.
"""
from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from harmonise.analysis import views
from harmonise.analysis.km import endpoint_curve
from harmonise.demo.site_d import AE_SHEET, EXPORT_DIR, EXPORT_NAME, FINISHED_MAPPING, PATIENT_SHEET, write_site_d
from harmonise.flows.onboarding import check_center
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, PROJECT_ROOT
from harmonise.onboarding.draft import write_draft
from harmonise.onboarding.profile import profile
from harmonise.mappings.spec import list_centers, load_mapping
from tests.conftest import ingest_all, study_workspace

DOC = PROJECT_ROOT / "docs" / "adding-a-center.md"
EXPORT = EXPORT_DIR / EXPORT_NAME

#: The unknown values the doc's first `harmonise check` lists, and the decisions of step 4.
UNKNOWN = {("Path_Dx", "腺泡狀軟組織肉瘤"): 2, ("Path_Dx", "黏液纖維肉瘤"): 1, ("PD1", "達伯舒"): 2,
           ("Anti_VEGF", "福可維"): 3, ("Stop_Reason", "Refused"): 1, ("Stop_Reason", "Tox"): 1,
           ("AE_Term", "Diarrhoea"): 3}


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _targets(mapping) -> list[dict]:
    return [{name: (c.action, c.table, c.field, c.vocab, c.separator, c.extract, c.date_format,
                    c.days_after) for name, c in f.columns.items()} for f in mapping.files]


def test_the_doc_shows_the_finished_mapping_verbatim():
    finished = FINISHED_MAPPING.read_text(encoding="utf-8").rstrip("\n")
    assert f"```yaml\n{finished}\n```" in _doc()


def test_the_doc_shows_each_command_of_the_walkthrough():
    doc = _doc()
    for command in ("harmonise profile inbox/site_d/site_d_export.xlsx",
                    "harmonise new-center site_d inbox/site_d/site_d_export.xlsx",
                    "harmonise check site_d", "harmonise ingest site_d"):
        assert f"```sh\n{command}\n```" in doc, command


def test_the_committed_site_d_export_equals_a_fresh_generation(tmp_path):
    fresh = write_site_d(tmp_path)
    for sheet in (PATIENT_SHEET, AE_SHEET):
        assert pd.read_excel(fresh, sheet_name=sheet, dtype=str).equals(
            pd.read_excel(EXPORT, sheet_name=sheet, dtype=str)), sheet


def test_site_d_is_not_one_of_the_study_centers():
    assert "site_d" not in list_centers(DEMO_MAPPINGS)
    assert not (DEMO_INBOX / "site_d").exists()


def test_the_finished_mapping_keeps_every_guess_of_the_draft(tmp_path):
    draft = write_draft("site_d", [EXPORT], mappings_dir=tmp_path)
    drafted = load_mapping("site_d", tmp_path)
    shutil.copy(FINISHED_MAPPING, tmp_path / "site_d.yaml")
    finished = load_mapping("site_d", tmp_path)
    assert _targets(drafted) == _targets(finished)             # only values:, comments and text added
    assert draft.text.rstrip("\n") in _doc()                    # the draft pasted in the doc is real


@pytest.fixture
def workspace(tmp_path):
    """A copy of the demo study's mappings/ and an inbox with the study exports and site_d."""
    settings = study_workspace(tmp_path, "site_d")
    shutil.copy(EXPORT, settings.inbox / "site_d" / EXPORT_NAME)   # the doc's `cp` into inbox/site_d/
    return settings


def test_walkthrough_from_export_to_pooled_analysis(workspace, demo_warehouse):
    settings = workspace
    export = settings.inbox / "site_d" / EXPORT_NAME

    # Step 1: profile. Four identifiers found, their values hidden.
    patients_sheet, events_sheet = profile(export).tables
    assert len(patients_sheet.identifiers) == 4 and len(events_sheet.identifiers) == 1

    # Step 2: new-center writes the draft (6 TODOs); it loads as it is.
    draft = write_draft("site_d", [export], mappings_dir=settings.mappings_dir)
    assert draft.todo_count == 6

    # Step 3: check fails and lists exactly the unknown values of the doc.
    report = check_center("site_d", settings)
    assert report.exit_code == 1 and not report.structural
    assert {(u.column, u.value): u.rows for u in report.unknown_values} == UNKNOWN
    assert (report.rows_read, report.rows_quarantined, report.patients) == (34, 25, 4)
    doc = _doc()
    for column, value in UNKNOWN:
        assert value in doc

    # Step 4: the finished mapping of the doc.
    shutil.copy(FINISHED_MAPPING, settings.mappings_dir / "site_d.yaml")

    # Step 5: check again: clean.
    report = check_center("site_d", settings)
    assert report.exit_code == 0, (report.structural, report.problems)
    assert (report.patients, report.adverse_events) == (11, 23)
    assert not settings.warehouse.exists()

    # Step 6: ingest, with the three study centers, into a fresh warehouse.
    results = ingest_all(settings)
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(
        ["site_a", "site_b", "site_c", "site_d"], "loaded")
    assert (results["site_d"].patients_loaded, results["site_d"].rows_quarantined) == (11, 0)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        per_center = dict(con.execute("SELECT center_id, count(*) FROM v_patient GROUP BY 1").fetchall())
        pooled = views.patients(con)
        events = con.execute("SELECT count(*) FROM adverse_event WHERE center_id = 'site_d'").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert per_center == {"site_a": 52, "site_b": 16, "site_c": 11, "site_d": 11}
    assert (events, quarantined) == (23, 0)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        study = views.patients(con)
    before, after = endpoint_curve(study, "os"), endpoint_curve(pooled, "os")
    assert (before.n, after.n) == (79, 90)
    assert after.events > before.events                        # site_d's deaths count in the pooled OS
    assert pd.notna(after.median)
