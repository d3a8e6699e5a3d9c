"""`role: assessments`: one row per patient per assessment, summarised into outcome columns.

Real files per test: a patients file and an assessments file written here, read, mapped and
validated as a run would. Expected values are worked out by hand from the rows written.
"""
from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from harmonise.mappings.engine import map_center
from harmonise.mappings.errors import MappingError
from harmonise.mappings.pseudonym import DEMO_KEY
from harmonise.mappings.spec import load_mapping
from harmonise.onboarding.draft import build_draft
from harmonise.schemas.reasons import rendered
from harmonise.schemas.validate import validate_center

KEY = DEMO_KEY.encode()
CUTOFF = pd.Timestamp("2025-01-01")

PATIENTS = """\
ID;SEX;AGE;HIST;START;PD1;LAST{extra_header}
A1;male;50;UPS;2023-01-01;pembrolizumab;2023-12-01{a1}
A2;female;61;SS;2023-02-01;nivolumab;2023-06-01{a2}
"""

MAPPING = """\
center: x_site
files:
  - role: patients
    name: p.csv
    delimiter: ";"
    not_recorded: [patient.primary_site, patient.lung_metastasis, patient.other_metastasis,
                   patient.ecog, patient.prior_lines, treatment.end_date,
                   treatment.discontinuation_reason]
    columns:
      ID: {{identifier: pseudonymise}}
      SEX: {{to: patient.sex}}
      AGE: {{to: patient.age_years}}
      HIST: {{to: patient.histology}}
      START: {{to: treatment.start_date}}
      PD1: {{to: treatment.immunotherapy_agent, vocab: agent}}
      LAST: {{to: outcome.last_followup_date}}
      {patient_columns}
    constants: {{treatment.course_no: 1, treatment.line_of_therapy: 1}}
  - role: assessments
    name: a.csv
    delimiter: ";"
    columns:
      ID: {{identifier: pseudonymise}}
      DATE: {{to: assessment.assessment_date}}
      RESP: {{to: assessment.response, vocab: best_response}}
    summaries:
      {summaries}
"""

SUMMARIES = """outcome.best_response: {summary: best_response, confirmation: none}
      outcome.progression_date: {summary: first_date_of, code: PD}"""


def _run(tmp_path, assessments: str, summaries: str = SUMMARIES, patient_columns: str = "",
         extra_header: str = "", a1: str = "", a2: str = ""):
    mappings = tmp_path / "mappings"
    mappings.mkdir(exist_ok=True)
    (mappings / "x_site.yaml").write_text(MAPPING.format(
        summaries=summaries, patient_columns=patient_columns), encoding="utf-8")
    inbox = tmp_path / "inbox" / "x_site"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "p.csv").write_text(PATIENTS.format(extra_header=extra_header, a1=a1, a2=a2),
                                 encoding="utf-8")
    (inbox / "a.csv").write_text("ID;DATE;RESP\n" + textwrap.dedent(assessments), encoding="utf-8")
    mapping = load_mapping("x_site", mappings)
    mapped = map_center(mapping, tmp_path / "inbox", KEY)
    validated = validate_center("x_site", mapped.frames, CUTOFF, mapped.quarantine,
                                not_recorded=mapping.not_recorded)
    return mapped, validated


def _outcome(validated) -> dict[int, tuple]:
    """``{patients-file row: (best response, progression date, last follow-up)}`` of clean rows."""
    out = validated.clean["outcome"]
    return {int(r["_source_row"]): (r["best_response"], None if pd.isna(r["progression_date"])
                                    else str(r["progression_date"].date()),
                                    str(r["last_followup_date"].date()))
            for r in out.to_dict("records")}


VISITS = """\
A1;2023-02-01;SD
A1;2023-03-01;PR
A1;2023-03-20;PR
A1;2023-05-01;PD
A1;2023-06-01;CR
A2;2023-03-01;SD
A2;2023-04-01;SD
"""


def test_best_response_counts_up_to_the_first_progression_and_the_first_pd_is_the_progression_date(tmp_path):
    _, validated = _run(tmp_path, VISITS)
    # A1: SD, PR, PR, PD, then a CR after progression that does not count
    assert _outcome(validated) == {2: ("PR", "2023-05-01", "2023-12-01"),
                                   3: ("SD", None, "2023-06-01")}
    assert validated.quarantine.empty
    assessments = validated.clean["assessment"]
    assert len(assessments) == 7 and set(assessments["_source_file"]) == {"a.csv"}
    assert sorted(assessments["_source_row"]) == list(range(2, 9))   # every input row, with its row


def test_a_confirmation_interval_turns_an_unconfirmed_partial_response_into_stable_disease(tmp_path):
    confirmed = SUMMARIES.replace("confirmation: none", "confirmation: 28")
    _, validated = _run(tmp_path, VISITS, summaries=confirmed)
    # A1's PRs are 19 days apart and the next assessment is PD: unconfirmed -> SD
    assert _outcome(validated)[2][0] == "SD"
    later = VISITS.replace("A1;2023-05-01;PD", "A1;2023-04-20;PR\nA1;2023-05-01;PD")
    _, validated = _run(tmp_path, later, summaries=confirmed)
    assert _outcome(validated)[2][0] == "PR"     # 2023-03-20 confirmed 31 days later


def test_last_date_combines_with_the_patients_files_last_contact_by_the_later_date(tmp_path):
    summaries = SUMMARIES + "\n      outcome.last_followup_date: {summary: last_date, combine: latest}"
    _, validated = _run(tmp_path, VISITS.replace("A2;2023-04-01;SD", "A2;2023-07-15;SD"),
                        summaries=summaries)
    assert _outcome(validated) == {2: ("PR", "2023-05-01", "2023-12-01"),    # last news is later
                                   3: ("SD", None, "2023-07-15")}            # the visit is later


def test_a_column_both_files_fill_is_refused_naming_both_lines_unless_combine_is_declared(tmp_path):
    with pytest.raises(MappingError) as err:
        _run(tmp_path, VISITS, patient_columns="BOR: {to: outcome.best_response}",
             extra_header=";BOR", a1=";PR", a2=";SD")
    text = str(err.value)
    assert "outcome.best_response is filled twice" in text and "column 'BOR' of p.csv" in text
    assert "a.csv" in text and "combine: agree" in text and "fill_blanks" in text


def test_combine_agree_quarantines_a_patient_whose_two_values_differ_naming_both(tmp_path):
    summaries = SUMMARIES.replace("confirmation: none}", "confirmation: none, combine: agree}")
    mapped, validated = _run(tmp_path, VISITS, summaries=summaries,
                             patient_columns="BOR: {to: outcome.best_response}",
                             extra_header=";BOR", a1=";CR", a2=";SD")
    assert set(_outcome(validated)) == {3}                 # A2 agrees; A1 is held
    records = rendered(validated.quarantine)
    conflict = records[records["rule"] == "summary_conflict"].iloc[0]
    assert (conflict.source_file, conflict.source_row, conflict.source_column) == ("p.csv", 2, "BOR")
    assert "value 'CR' disagrees with PR" in conflict.reason
    assert "a.csv (row(s) 3)" in conflict.reason and "combine: fill_blanks" in conflict.reason
    held = records[records["rule"] == "held_with_patient"]
    assert set(held["source_file"]) == {"p.csv", "a.csv"}  # A1's other rows wait with it


def test_combine_fill_blanks_keeps_the_patients_files_value(tmp_path):
    summaries = SUMMARIES.replace("confirmation: none}", "confirmation: none, combine: fill_blanks}")
    _, validated = _run(tmp_path, VISITS, summaries=summaries,
                        patient_columns="BOR: {to: outcome.best_response}",
                        extra_header=";BOR", a1=";CR", a2=";")
    assert {k: v[0] for k, v in _outcome(validated).items()} == {2: "CR", 3: "SD"}


def test_a_patient_without_assessments_is_quarantined_not_read_as_not_progressed(tmp_path):
    _, validated = _run(tmp_path, "A1;2023-02-01;SD\n")
    records = rendered(validated.quarantine)
    missing = records[records["rule"] == "no_assessments"]
    assert list(missing["source_row"]) == [3] and "no row in a.csv" in missing.iloc[0].reason
    assert set(_outcome(validated)) == {2}


def test_assessment_rows_have_their_own_quarantine_reasons_and_hold_their_patient(tmp_path):
    rows = ("A1;2023-02-01;SD\nA1;2023-02-01;SD\nA1;2023-03-01;Great\n"
            "A2;2023-03-01;SD\nA2;2023-03-01;PR\nZ9;2023-03-01;SD\n")
    _, validated = _run(tmp_path, rows)
    records = rendered(validated.quarantine)
    by_row = {(r.source_row, r.rule) for r in records.itertuples() if r.source_file == "a.csv"}
    assert {(3, "repeated_assessment"), (4, "unknown_code"), (6, "assessment_conflict"),
            (7, "patient_exists")} <= by_row
    assert _outcome(validated) == {}                # both patients held by a failing assessment
    conflict = records[records["rule"] == "assessment_conflict"].iloc[0]
    assert "PR here, SD in a.csv row 5" in conflict.reason


@pytest.mark.parametrize("summaries, expected", [
    ("outcome.best_response: {summary: best_response}", "must state its confirmation rule"),
    ("outcome.progression_date: {summary: first_date_of}", "needs `code:`"),
    ("outcome.progression_date: {summary: first_date_of, code: XX}", "'XX' is not a valid code"),
    ("outcome.best_response: {summary: last_date}", "cannot fill 'outcome.best_response'"),
    ("outcome.best_response: {summary: best_response, confirmation: -3}", "must be `none` or a whole"),
    ("outcome.death_date: {summary: last_date, combine: maybe}", "'maybe' is not a valid combine"),
    ("outcome.best_response: {summary: best_response, confirmation: none, combine: latest}",
     "`combine: latest` is for dates only"),
    ("outcome.best_response: {summry: best_response}", "needs `summary:`"),
])
def test_summary_mistakes_are_mapping_errors_with_the_line(tmp_path, summaries, expected):
    with pytest.raises(MappingError) as err:
        _run(tmp_path, VISITS, summaries=summaries)
    assert expected in str(err.value) and "line" in str(err.value)


def test_summaries_belong_to_an_assessments_file(tmp_path):
    text = MAPPING.format(summaries=SUMMARIES, patient_columns="").replace(
        "    constants:", "    summaries: {outcome.progression_date: {summary: last_date}}\n    constants:")
    (tmp_path / "x_site.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match="belongs to a file with `role: assessments`"):
        load_mapping("x_site", tmp_path)


def test_draft_recognises_a_file_of_assessments_and_drafts_its_summaries(tmp_path):
    patients = "MRN,Sex,Age,Histology,Start date,PD-1,Last follow-up\n" + "".join(
        f"P{i:03d},{'male' if i % 2 else 'female'},{40 + i},UPS,2023-01-{i + 1:02d},nivolumab,2024-01-01\n"
        for i in range(8))
    visits = "MRN,Visit date,Response\n" + "".join(
        f"P{i:03d},2023-{m + 2:02d}-1{i % 9},{['SD', 'PR', 'PD'][(i + m) % 3]}\n"
        for i in range(8) for m in range(3))
    (tmp_path / "patients.csv").write_text(patients, encoding="utf-8")
    (tmp_path / "visits.csv").write_text(visits, encoding="utf-8")
    draft = build_draft("x_site", [tmp_path / "patients.csv", tmp_path / "visits.csv"])
    assert [f.role for f in draft.files] == ["patients", "assessments"]
    for line in ("Visit date: {to: assessment.assessment_date}",
                 "Response: {to: assessment.response, vocab: best_response}",
                 "outcome.best_response: {summary: best_response, confirmation: none}",
                 "outcome.progression_date: {summary: first_date_of, code: PD}",
                 "outcome.last_followup_date: {summary: last_date, combine: latest}"):
        assert line in draft.text, line
    assert "outcome.best_response" not in draft.files[0].todos[0]   # the assessments give it


@pytest.mark.parametrize("record, date, response", [
    ("Patientennummer", "Untersuchungsdatum", "Ansprechen"),
    ("Historia clínica", "Fecha de evaluación", "Respuesta"),
    ("Cartella", "Data di valutazione", "Risposta"),
    ("Prontuário", "Data da avaliação", "Resposta"),
    ("IPP", "Date de l'évaluation", "Réponse tumorale"),
])
def test_a_european_file_of_assessments_is_drafted_with_its_headers_matched(tmp_path, record, date,
                                                                            response):
    patients = f"{record};Sexo;Edad\n" + "".join(f"X{i:03d};F;{50 + i}\n" for i in range(6))
    visits = f"{record};{date};{response}\n" + "".join(
        f"X{i:03d};{10 + m}/0{m + 3}/2023;{['SD', 'PR', 'PD'][(i + m) % 3]}\n"
        for i in range(6) for m in range(3))
    (tmp_path / "p.csv").write_bytes(patients.encode("cp1252"))
    (tmp_path / "v.csv").write_bytes(visits.encode("cp1252"))
    draft = build_draft("x_site", [tmp_path / "p.csv", tmp_path / "v.csv"])
    assessments = draft.files[1]
    assert assessments.role == "assessments"
    assert {c.source: c.target for c in assessments.columns} == {
        record: None, date: "assessment.assessment_date", response: "assessment.response"}
    assert assessments.date_format == "%d/%m/%Y" and set(assessments.summaries) == {
        "outcome.best_response", "outcome.progression_date", "outcome.last_followup_date"}
