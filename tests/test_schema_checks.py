"""Each clinical-sense check of the canonical contract, proved with one bad row in a real export."""
from __future__ import annotations

import pandas as pd
import pytest

from harmonise.pipeline.center import build_batch
from harmonise.pipeline.run import pseudonym_key

PATIENTS = "site_a_patients.csv"
EVENTS = "site_a_adverse_events.csv"


def _edit(inbox, name, row, changes):
    path = inbox / "site_a" / name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, value in changes.items():
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return frame


def _batch(settings):
    return build_batch("site_a", settings, pseudonym_key(settings))


def _first_row(inbox, **where):
    frame = pd.read_csv(inbox / "site_a" / PATIENTS, dtype=str, keep_default_na=False)
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame.index[0]


BAD_PATIENT_CELLS = [
    ({"Age": "15"}, "age_years", "greater_than_or_equal_to(18)"),
    ({"Age": "121"}, "age_years", "less_than_or_equal_to(120)"),
    ({"ECOG": "5"}, "ecog", "less_than_or_equal_to(4)"),
    ({"Histology": "Osteosarcoma"}, "histology", "vocabulary:histology"),
    ({"PD-1 inhibitor": "Aspirin"}, "immunotherapy_agent", "vocabulary:agent"),
    ({"Sex": ""}, "sex", "not_nullable"),
    ({"Lung metastasis": ""}, "lung_metastasis", "not_nullable"),
    ({"Lung metastasis": "maybe"}, "lung_metastasis", "vocabulary:boolean"),
    ({"Start date": "1900-01-01"}, "start_date", "greater_than_or_equal_to(2000-01-01 00:00:00)"),
    ({"Start date": "15/03/2021"}, "start_date", "date_format"),
    ({"Best response": "Great"}, "best_response", "vocabulary:best_response"),
    ({"Prior systemic lines": "-1"}, "prior_lines", "greater_than_or_equal_to(0)"),
    ({"Treatment line": "0"}, "line_of_therapy", "greater_than_or_equal_to(1)"),
    ({"Local therapy": "Acupuncture"}, "local_treatment", "vocabulary:local_treatment"),
    ({"Reason for discontinuation": "Bored"}, "discontinuation_reason", "vocabulary:discontinuation_reason"),
    ({"Last follow-up": ""}, "last_followup_date", "not_nullable"),
]


@pytest.mark.parametrize("changes, column, check", BAD_PATIENT_CELLS,
                         ids=[c for _, c, _ in BAD_PATIENT_CELLS])
def test_bad_patient_cell_is_quarantined_with_reason_and_its_rows_held(
        inbox_copy, settings_for, changes, column, check):
    frame = _edit(inbox_copy, PATIENTS, 0, changes)
    batch = _batch(settings_for(inbox_copy))
    q = batch.quarantine
    failed = q[q.check_name != "held_with_patient"]
    assert list(zip(failed.column_name, failed.check_name)) == [(column, check)]
    record = failed.iloc[0]
    assert (record.source_file, record.source_row) == (PATIENTS, 2)   # header is row 1
    assert record.source_column in changes
    assert record.reason and record.center_id == "site_a"
    key = record.patient_key
    assert key not in set(batch.clean["patient"].patient_key)
    held = q[q.check_name == "held_with_patient"]
    assert set(held.table_name) | set(failed.table_name) >= {"patient", "treatment", "outcome"}
    assert len(batch.clean["patient"]) == len(frame) - 1                # every other patient loads
    mrn = frame.loc[0, "MRN"]
    n_events = (pd.read_csv(inbox_copy / "site_a" / EVENTS, dtype=str).MRN == mrn).sum()
    assert (held.table_name == "adverse_event").sum() == n_events       # no orphan events load


DATE_ORDER = [
    ("progression_not_before_start", lambda r: {"Progression date": _shift(r["Start date"], -10)}),
    ("death_not_before_progression", lambda r: {"Death date": _shift(r["Progression date"], -1),
                                                "Last follow-up": _shift(r["Progression date"], -1)}),
    ("end_not_before_start", lambda r: {"End of treatment": _shift(r["Start date"], -1)}),
    ("no_date_after_cutoff", lambda r: {"Last follow-up": "2024-06-30"}),
    ("death_not_before_start", lambda r: {"Death date": _shift(r["Start date"], -5),
                                          "Progression date": ""}),
    ("followup_not_before_start", lambda r: {"Last follow-up": _shift(r["Start date"], -1),
                                             "Progression date": "", "Death date": "",
                                             "End of treatment": _shift(r["Start date"], -1)}),
    ("followup_not_before_progression", lambda r: {"Last follow-up": _shift(r["Progression date"], -1),
                                                   "Death date": ""}),
]


def _shift(iso: str, days: int) -> str:
    return (pd.Timestamp(iso) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


@pytest.mark.parametrize("check, change", DATE_ORDER, ids=[c for c, _ in DATE_ORDER])
def test_dates_out_of_clinical_order_are_quarantined(inbox_copy, settings_for, check, change):
    row = _first_row(inbox_copy, **{"Reason for discontinuation": "Disease progression"})
    original = pd.read_csv(inbox_copy / "site_a" / PATIENTS, dtype=str, keep_default_na=False).loc[row]
    _edit(inbox_copy, PATIENTS, row, change(original))
    batch = _batch(settings_for(inbox_copy))
    failed = batch.quarantine[batch.quarantine.check_name != "held_with_patient"]
    assert check in set(failed.check_name)
    assert set(failed.source_row) == {row + 2}


def test_duplicate_patient_quarantines_both_rows(inbox_copy, settings_for):
    path = inbox_copy / "site_a" / PATIENTS
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[1, "MRN"] = frame.loc[0, "MRN"]
    frame.to_csv(path, index=False)
    batch = _batch(settings_for(inbox_copy))
    dup = batch.quarantine[batch.quarantine.check_name == "multiple_fields_uniqueness"]
    assert set(dup.source_row) == {2, 3}
    assert len(batch.clean["patient"]) == len(frame) - 2


def test_ongoing_course_with_an_end_date_is_quarantined(inbox_copy, settings_for):
    row = _first_row(inbox_copy, **{"Reason for discontinuation": "Ongoing"})
    _edit(inbox_copy, PATIENTS, row, {"End of treatment": "2024-01-01"})
    batch = _batch(settings_for(inbox_copy))
    assert "end_date_matches_reason" in set(batch.quarantine.check_name)


@pytest.mark.parametrize("grade, check", [("6", "less_than_or_equal_to(5)"),
                                          ("0", "greater_than_or_equal_to(1)"),
                                          ("severe", "type:integer")])
def test_bad_adverse_event_grade_quarantines_that_event_only(inbox_copy, settings_for, grade, check):
    _edit(inbox_copy, EVENTS, 0, {"CTCAE grade": grade})
    batch = _batch(settings_for(inbox_copy))
    q = batch.quarantine
    assert list(q.check_name) == [check]
    assert (q.iloc[0].source_file, q.iloc[0].source_row) == (EVENTS, 2)
    assert q.iloc[0].patient_key in set(batch.clean["patient"].patient_key)   # patient still loads
    total = len(pd.read_csv(inbox_copy / "site_a" / EVENTS))
    assert len(batch.clean["adverse_event"]) == total - 1


def test_adverse_event_of_unknown_patient_is_quarantined_as_orphan(inbox_copy, settings_for):
    _edit(inbox_copy, EVENTS, 0, {"MRN": "HN0000000"})
    batch = _batch(settings_for(inbox_copy))
    q = batch.quarantine
    assert list(q.check_name) == ["patient_exists"]
    assert "not in the patients file" in q.iloc[0].reason


def test_identifier_values_never_appear_in_quarantine(inbox_copy, settings_for):
    frame = _edit(inbox_copy, PATIENTS, 0, {"Age": "15"})
    batch = _batch(settings_for(inbox_copy))
    text = batch.quarantine.astype(str).to_csv()
    for column in ("MRN", "Patient name", "Phone"):
        assert frame.loc[0, column] not in text


def test_reasons_name_the_exports_own_column(inbox_copy, settings_for):
    _edit(inbox_copy, PATIENTS, 0, {"Age": "15"})
    batch = _batch(settings_for(inbox_copy))
    record = batch.quarantine.query("check_name != 'held_with_patient'").iloc[0]
    assert record.reason.startswith("Column 'Age' (age_years) value '99' must be at least 18.")  # shape
    private = batch.private_quarantine.query("check_name != 'held_with_patient'").iloc[0]
    assert private.reason.startswith("Column 'Age' (age_years) value '15' must be at least 18.")


def test_a_malformed_pseudonym_or_center_id_breaks_the_contract_and_names_the_pattern(
        inbox_copy, settings_for):
    """The engine always writes well-formed keys; the contract still checks every row (it is
    matched once per distinct value, so a bad row among 100 good copies is still caught)."""
    from harmonise.schemas.fields import CENTER_PATTERN, PSEUDONYM_PATTERN
    from harmonise.schemas.reasons import rendered
    from harmonise.schemas.validate import validate_center
    settings = settings_for(inbox_copy)
    frames = {t: f.copy() for t, f in _batch(settings).clean.items()}
    frames["patient"].loc[3, "patient_key"] = "HN0004"                 # an MRN, not a pseudonym
    frames["adverse_event"]["center_id"] = frames["adverse_event"]["center_id"].astype(object)
    frames["adverse_event"].loc[1, "center_id"] = "Site A"
    quarantine = validate_center("site_a", frames, pd.Timestamp(settings.cutoff)).quarantine
    wrong = rendered(quarantine[quarantine["rule"] == "wrong_form"])
    assert sorted(zip(wrong["table_name"], wrong["column_name"], wrong["failed_value"])) == [
        ("adverse_event", "center_id", "Site A"), ("patient", "patient_key", "HN0004")]
    assert sorted(wrong["reason"].str.contains(p, regex=False).any()
                  for p in (CENTER_PATTERN, PSEUDONYM_PATTERN)) == [True, True]
    events = frames["adverse_event"]
    assert not quarantine[(quarantine["table_name"] == "adverse_event") & (quarantine["rule"] == "wrong_form")
                          ]["_row_id"].isin(events.loc[events.index != 1, "_row_id"]).any()
