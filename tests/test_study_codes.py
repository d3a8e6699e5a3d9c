"""A study's own codes (the project's codes.yaml): checked like the built-in ones, end to end."""
from __future__ import annotations

import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.flows.project import load_project
from harmonise.flows.settings import DEMO_PROJECT
from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import load_mapping
from harmonise.pipeline.identity import mapping_fingerprint
from harmonise.schemas.quarantine import FixIn
from harmonise.schemas.study_codes import StudyCodesError, study_book
from harmonise.warehouse.dictionary import render
from tests.conftest import ingest_all, patients_mapping

runner = CliRunner()
WIDE = {"COLUMNS": "250"}

CODES = """\
agent:
  atezolizumab: {label: Atezolizumab, class: immunotherapy, target: PD-L1}
  cabozantinib: {label: Cabozantinib, class: antiangiogenic}
histology:
  DSRCT: {label: Desmoplastic small round cell tumour, group: small round cell sarcoma}
ae_term:
  pneumonitis: {label: Pneumonitis, ctcae: [Pneumonitis]}
"""

MAPPING = patients_mapping("""\
      MRN: {identifier: pseudonymise}
      Sex: {to: patient.sex, vocab: sex}
      Age: {to: patient.age_years}
      Histology: {to: patient.histology, vocab: histology}
      Line: {to: treatment.line_of_therapy}
      Start: {to: treatment.start_date}
      Regimen: REGIMEN
      Last: {to: outcome.last_followup_date}
      Pneumonitis: WIDE
    adverse_events_wide: {columns: {Pneumonitis: pneumonitis}}
    constants: {treatment.course_no: 1}
    not_recorded: [patient.primary_site, patient.lung_metastasis, patient.other_metastasis,
                   patient.ecog, patient.prior_lines, treatment.end_date,
                   treatment.discontinuation_reason, outcome.best_response]
""")
ROWS = [("A1", "F", "50", "DSRCT", "Atezolizumab", "2"),
        ("A2", "M", "61", "UPS", "Pembrolizumab + Cabozantinib", ""),
        ("A3", "M", "47", "ASPS", "Tecentriq + Anlotinib", "1")]


def _project(tmp_path, codes: str | None = CODES, regimen: str = '{split_regimen: {separator: "+"}}',
             vocab: str | None = "codes:\n  atezolizumab: [Tecentriq]\n", rows=ROWS):
    (tmp_path / "harmonise.yaml").write_text("study: codes test\ncutoff: 2024-05-25\n"
                                             "pseudonym: {demo_key: true}\n", encoding="utf-8")
    for name in ("plan.yaml", "published.yaml", "ERRATA.md"):
        shutil.copy(DEMO_PROJECT / name, tmp_path / name)
    (tmp_path / "mappings").mkdir()
    mapping = MAPPING.replace("REGIMEN", regimen)
    if not any(r[5] for r in rows):
        mapping = mapping.replace("      Pneumonitis: WIDE\n", "").replace(
            "    adverse_events_wide: {columns: {Pneumonitis: pneumonitis}}\n", "")
    (tmp_path / "mappings" / "x_site.yaml").write_text(mapping.replace(": WIDE", ": drop"), encoding="utf-8")
    if codes is not None:
        (tmp_path / "codes.yaml").write_text(codes, encoding="utf-8")
    if vocab is not None:
        (tmp_path / "vocab").mkdir()
        (tmp_path / "vocab" / "agent.yaml").write_text(vocab, encoding="utf-8")
    inbox = tmp_path / "inbox" / "x_site"
    inbox.mkdir(parents=True)
    header = "MRN,Sex,Age,Histology,Line,Start,Regimen,Last" + (",Pneumonitis" if "WIDE" in mapping else "")
    lines = [header] + [f"{m},{s},{a},{h},1,2022-01-10,{r},2023-06-01" + (f",{g}" if "WIDE" in mapping else "")
                        for m, s, a, h, r, g in rows]
    (inbox / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def _check(project):
    result = runner.invoke(app, ["check", "x_site", "--project", str(project)], env=WIDE)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_an_unknown_code_under_values_was_a_keyerror_and_is_now_an_error_naming_the_codes_file(tmp_path):
    project = _project(tmp_path, codes=None, vocab=None, rows=ROWS[:1],
                       regimen='{split_regimen: {separator: "+"}, values: {Atezolizumab: atezolizumab}}')
    result = _check(project)                                         # was: KeyError: 'atezolizumab'
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "line 12" in text and "'atezolizumab', which is not in the code list 'agent'" in text
    assert "the fix belongs in the project's codes" in text
    assert "under `agent:` in the project's codes.yaml: `atezolizumab: {label: Atezolizumab, class:" in text


def test_the_yaml_to_add_names_the_class_the_column_holds(tmp_path):
    project = _project(tmp_path, codes=None, vocab=None, rows=ROWS[:1],
                       regimen="{to: treatment.immunotherapy_agent, vocab: agent, values: {Atezolizumab: atezolizumab}}")
    with pytest.raises(MappingError) as err:
        load_mapping("x_site", project / "mappings", None, project / "codes.yaml")
    assert "`atezolizumab: {label: Atezolizumab, class: immunotherapy}`" in err.value.hint
    assert err.value.fix == (FixIn.PROJECT_CODES, FixIn.MAPPING)


def test_a_code_of_another_class_in_a_class_column_is_a_mapping_mistake(tmp_path):
    project = _project(tmp_path, vocab=None, rows=ROWS[:1],
                       regimen="{to: treatment.immunotherapy_agent, vocab: agent, values: {Cabo: cabozantinib}}")
    with pytest.raises(MappingError) as err:
        load_mapping("x_site", project / "mappings", None, project / "codes.yaml")
    assert "of class antiangiogenic" in err.value.problem and "class immunotherapy" in err.value.problem
    assert err.value.fix == (FixIn.MAPPING,) and "The fix belongs in the mapping." in err.value.message


def test_study_codes_load_like_built_in_ones_through_check(tmp_path):
    result = _check(_project(tmp_path))
    assert result.exit_code == 0, result.output
    assert "atezolizumab" in result.output and "cabozantinib" in result.output and "DSRCT" in result.output


def test_study_codes_reach_the_warehouse_and_its_code_table(tmp_path):
    settings = load_project(_project(tmp_path))
    results = ingest_all(settings)
    assert results["x_site"].status == "loaded" and results["x_site"].rows_quarantined == 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        treatment = con.execute("SELECT immunotherapy_agent, antiangiogenic_agents FROM treatment "
                                "ORDER BY source_row").fetchall()
        ref = con.execute("SELECT code, label, code_group FROM ref_code WHERE code IN "
                          "('atezolizumab', 'cabozantinib', 'DSRCT', 'pneumonitis') ORDER BY code").fetchall()
        terms = con.execute("SELECT term, grade FROM adverse_event ORDER BY grade").fetchall()
    assert treatment == [("atezolizumab", None), ("pembrolizumab", "cabozantinib"),
                         ("atezolizumab", "anlotinib")]
    assert [r[0] for r in ref] == ["DSRCT", "atezolizumab", "cabozantinib", "pneumonitis"]
    assert terms == [("pneumonitis", 1), ("pneumonitis", 2)]


def test_without_the_codes_file_the_same_export_quarantines_the_unknown_agents(tmp_path):
    result = _check(_project(tmp_path, codes=None, vocab=None, rows=ROWS[1:2]))
    assert result.exit_code != 0


def test_a_project_dictionary_lists_its_own_codes_and_the_built_in_one_does_not(tmp_path):
    book = study_book(_project(tmp_path) / "codes.yaml")
    ours, builtin = render(book), render()
    assert "- `atezolizumab`: Atezolizumab (class: immunotherapy; target: PD-L1) *study*" in ours
    assert "`DSRCT`: Desmoplastic small round cell tumour (group: small round cell sarcoma) *study*" in ours
    assert "atezolizumab" not in builtin


def test_changing_the_codes_file_reloads_the_center(tmp_path):
    project = _project(tmp_path)
    before = mapping_fingerprint(load_mapping("x_site", project / "mappings", project / "vocab",
                                              project / "codes.yaml"))
    (project / "codes.yaml").write_text(CODES.replace("class: antiangiogenic}", "class: antiangiogenic, note: XL184}"))
    after = mapping_fingerprint(load_mapping("x_site", project / "mappings", project / "vocab",
                                             project / "codes.yaml"))
    assert before != after


@pytest.mark.parametrize(("codes", "line", "words"), [
    ("sex:\n  other: {label: Other}\n", 1, "the code list 'sex' is closed"),
    ("agent:\n  sintilimab: {label: Sintilimab, class: immunotherapy}\n", 2, "already a built-in code"),
    ("agent:\n  atezolizumab: {label: Atezolizumab}\n", 2, "has no `class:`"),
    ("agent:\n  atezolizumab: {label: Atezolizumab, class: pdl1}\n", 2, "is not an agent class"),
    ("agent:\n  atezolizumab: {label: Atezolizumab, class: immunotherapy, colour: red}\n", 2,
     "'colour' is not an attribute"),
    ("histology:\n  desmoplastic small round cell: {label: DSRCT}\n", 2, "is not a usable code"),
    ("drugs:\n  x: {label: X}\n", 1, "'drugs' is not a code list a study can add to"),
    ("agent: [atezolizumab]\n", 1, "must list codes with their attributes"),
    ("agent:\n  atezolizumab: {label: [A, B], class: immunotherapy}\n", 2, "must be text"),
])
def test_a_mistake_in_the_codes_file_names_its_line_and_says_the_fix_is_there(tmp_path, codes, line, words):
    (tmp_path / "codes.yaml").write_text(codes, encoding="utf-8")
    with pytest.raises(StudyCodesError) as err:
        study_book(tmp_path / "codes.yaml")
    assert err.value.line == line and words in err.value.problem
    assert str(err.value).endswith("The fix belongs in the project's codes.yaml.")


def test_a_mistake_in_the_codes_file_fails_check_without_a_traceback(tmp_path):
    project = _project(tmp_path, codes="agent:\n  atezolizumab: {label: Atezolizumab}\n")
    result = _check(project)
    assert result.exit_code != 0 and "codes.yaml" in result.output and "line 2" in result.output


def test_a_vocab_spelling_of_a_code_nobody_declared_points_to_the_codes_file(tmp_path):
    project = _project(tmp_path, codes=None, vocab="codes:\n  atezolizumab: [Tecentriq]\n",
                       rows=[ROWS[0][:5] + ("",)])
    result = _check(project)
    text = " ".join(result.output.split())
    assert result.exit_code != 0 and "the fix belongs in the project's codes" in text
    assert "atezolizumab: {label: Atezolizumab, class: <antiangiogenic | cytotoxic | immunotherapy>}" in text


def test_an_unknown_agent_is_named_as_the_unknown_part_of_its_cell_not_the_whole_cell(tmp_path):
    from harmonise.flows.onboarding import check_center
    settings = load_project(_project(tmp_path, codes=None, vocab=None, rows=[
        ("A1", "M", "61", "UPS", "Pembrolizumab + Cabozantinib", ""),
        ("A2", "M", "55", "UPS", "Foo + Sintilimab + Bar", "")]))
    report = check_center("x_site", settings)
    assert {(u.value, u.rows) for u in report.unknown_values} == {("Cabozantinib", 1), ("Foo", 1), ("Bar", 1)}
    examples = {e.value for g in report.problems for e in g.examples if e.value}
    assert examples == {"Cabozantinib", "Foo, Bar"}


@pytest.mark.parametrize(("value", "agent_class", "expected"), [
    ("Atezolizumab", None, None),            # a PD-L1 inhibitor is not tislelizumab
    ("Cabozantinib", None, None),            # nor apatinib: another drug, however alike the name
    ("Sintillimab", None, "sintilimab"),     # a typo is
    ("Sintillimab", "antiangiogenic", None),  # ... but never offered for a column of another class
    ("Anlotinb", "antiangiogenic", "anlotinib"),
])
def test_the_nearest_match_hint_offers_no_other_drug_as_if_it_were_the_same(value, agent_class, expected):
    from harmonise.onboarding.suggest import suggest_code
    hint = suggest_code(value, "agent", agent_class)
    assert (hint[0] if hint else None) == expected


def test_the_hint_says_the_class_of_the_code_it_offers(tmp_path):
    from harmonise.flows.onboarding import check_center
    settings = load_project(_project(tmp_path, codes=None, vocab=None,
                                     rows=[("A1", "M", "61", "UPS", "Sintillimab", "")]))
    [unknown] = check_center("x_site", settings).unknown_values
    assert unknown.suggestion == "sintilimab? (like 'sintilimab'; class immunotherapy)"


def test_a_new_project_gets_a_commented_codes_file_that_adds_nothing(tmp_path):
    from harmonise.flows.scaffold import init_project
    from harmonise.schemas.codes import builtin
    project = init_project(tmp_path / "study")
    assert "atezolizumab" in (project / "codes.yaml").read_text(encoding="utf-8")
    assert study_book(project / "codes.yaml") is builtin()
    assert load_project(project).codes_file == project / "codes.yaml"



def test_a_draft_todo_for_an_agent_nobody_lists_points_to_the_codes_file():
    from harmonise.onboarding.suggest import _unknown_todo
    todo = _unknown_todo({"Cabozantinib": 2}, "agent", "treatment.antiangiogenic_agents")
    assert "'Cabozantinib' x2" in todo and "like" not in todo      # no other drug offered as this one
    assert todo.endswith("; an agent the code list lacks goes in the project's codes.yaml")
    assert "codes.yaml" not in _unknown_todo({"Sintillimab": 1}, "agent", "treatment.immunotherapy_agent")
