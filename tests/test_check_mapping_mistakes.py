"""`harmonise check` fed every kind of mapping mistake: a message naming the file, the line or the
column and where the fix belongs, an exit status that is not 0, and never a traceback.

Each case is one real project (harmonise.yaml, mappings/x_site.yaml, a small export, and where the
case needs them the project's codes.yaml or vocab/) checked through the command line itself.
"""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from harmonise.flows.cli import app

runner = CliRunner()

BASE = """\
center: x_site
files:
  - role: patients
    name: p.csv
    columns:
      MRN: {identifier: pseudonymise}
      Sex: {to: patient.sex, vocab: sex}
      Age: {to: patient.age_years}
      Start: {to: treatment.start_date, date_format: "%d/%m/%Y"}
      Regimen: {split_regimen: {separator: "+"}}
"""
EXPORT = "MRN,Sex,Age,Start,Regimen\nA1,F,50,10/01/2022,Sintilimab + Anlotinib\n"


def _with_file_key(key: str) -> str:
    return BASE.replace("    name: p.csv\n", f"    name: p.csv\n    {key}\n")


def _column(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


MAPPING, CODES, VOCAB = "the mapping", "the project's codes.yaml", "the project's vocab/"

# (case, mapping file (text or bytes), extra project files, words the output must hold, where the fix belongs)
CASES = [
    ("unknown target column", _column("to: patient.age_years", "to: patient.age"), {},
     ["line 8", "'patient.age' is not a canonical column", "Did you mean 'patient.age_years'"], MAPPING),
    ("renamed target column", _column("Age: {to: patient.age_years}", "Age: {to: treatment.pd1_agent}"), {},
     ["line 8", "was renamed treatment.immunotherapy_agent"], MAPPING),
    ("unknown vocabulary", _column("vocab: sex}", "vocab: gender}"), {},
     ["line 7", "'gender' is not a valid vocab"], MAPPING),
    ("unknown code under values:", _column("{split_regimen: {separator: \"+\"}}",
                                           "{split_regimen: {separator: \"+\"}, values: {Tecentriq: atezolizumab}}"), {},
     ["line 10", "column 'Regimen'", "'atezolizumab', which is not in the code list 'agent'",
      "`atezolizumab: {label: Atezolizumab, class:"], CODES),
    ("code of a closed list under values:", _column("vocab: sex}", "vocab: sex, values: {X: other}}"), {},
     ["line 7", "column 'Sex'", "The list is closed", "female, male"], MAPPING),
    ("code of another class under values:", _column(
        "Age: {to: patient.age_years}",
        "Age: {to: patient.age_years}\n      PD1: {to: treatment.immunotherapy_agent, values: {Focus V: anlotinib}}"), {},
     ["line 9", "of class antiangiogenic", "holds agent codes of class immunotherapy"], MAPPING),
    ("bad date format", _column('"%d/%m/%Y"', '"%d/%q/%Y"'), {},
     ["line 9", "is not a date format", "%d day, %m month"], MAPPING),
    ("date format as a set of keys", _column('"%d/%m/%Y"', "{day: 1}"), {}, ["line 9", "must be text"], MAPPING),
    ("no identifier column", _column("MRN: {identifier: pseudonymise}", "MRN: drop"), {},
     ["line 5", "exactly one column with `identifier: pseudonymise`"], MAPPING),
    ("misspelt identifier action", _column("{identifier: pseudonymise}", "{identifier: pseudonymize}"), {},
     ["line 6", "'pseudonymize' is not a valid identifier", "Did you mean 'pseudonymise'"], MAPPING),
    ("wrong role", _column("role: patients", "role: patient"), {},
     ["line 3", "'patient' is not a valid role", "Did you mean 'patients'"], MAPPING),
    ("role as a list", _column("role: patients", "role: [patients]"), {},
     ["line 3", "`role:` must be one value, not a list"], MAPPING),
    ("bad regex", _column("Age: {to: patient.age_years}", "Age: {to: patient.age_years, extract: '(['}"), {},
     ["line 8", "extract pattern is not usable"], MAPPING),
    ("regex without a group", _column("Age: {to: patient.age_years}", r"Age: {to: patient.age_years, extract: '\d+'}"),
     {}, ["line 8", "needs exactly one (group)"], MAPPING),
    ("duplicate keys", _column("      Age: {to: patient.age_years}\n",
                               "      Age: {to: patient.age_years}\n      Age: drop\n"), {},
     ["line 9", "'Age' is given twice in the same block: line 8 and line 9"], MAPPING),
    ("list where a mapping is expected (columns)", BASE.split("    columns:")[0] + "    columns: [MRN, Sex]\n", {},
     ["line 5", "`columns:` must map each source column name"], MAPPING),
    ("list where a mapping is expected (constants)", BASE + "    constants: [1]\n", {},
     ["line 11", "`constants:` must map canonical columns"], MAPPING),
    ("list where a mapping is expected (wide adverse events)", BASE + "    adverse_events_wide: {columns: [G1]}\n",
     {}, ["line 11", "must map each grade column to its term"], MAPPING),
    ("list where a mapping is expected (values)", _column("vocab: sex}", "vocab: sex, values: [F, M]}"), {},
     ["line 7", "column 'Sex'", "`values:` must map source spellings to codes"], MAPPING),
    ("files as a mapping", "center: x_site\nfiles: {role: patients}\n", {},
     ["line 2", "`files:` must list at least one export file"], MAPPING),
    ("column as a list", _column("Age: {to: patient.age_years}", "Age: [patient.age_years]"), {},
     ["line 8", "column 'Age' must be `drop`, `ignore` or a set of keys"], MAPPING),
    ("type as a list", _column("Age: {to: patient.age_years}", "Age: {to: patient.age_years, type: [integer]}"), {},
     ["line 8", "`type:` must be one value, not a list"], MAPPING),
    ("wrong type for the column", _column("Age: {to: patient.age_years}", "Age: {to: patient.age_years, type: date}"),
     {}, ["line 8", "`type: date` cannot fill patient.age_years", "derive: age_from_birth_date"], MAPPING),
    ("optional not true or false", _column("Age: {to: patient.age_years}", "Age: {to: patient.age_years, optional: maybe}"),
     {}, ["line 8", "`optional: maybe` must be true or false"], MAPPING),
    ("header_row as words", _with_file_key("header_row: two"), {},
     ["line 5", "`header_row: two` must be a whole number of at least 1"], MAPPING),
    ("decimal mark that is not one", _with_file_key("decimal: 5"), {},
     ["line 5", "'5' is not a valid decimal", 'Valid values: ",", "."'], MAPPING),
    ("delimiter of several characters", _with_file_key("delimiter: ';;'"), {},
     ["line 5", "`delimiter: ;;` must be one character"], MAPPING),
    ("separator as a number", _column('{separator: "+"}', "{separator: 5}"), {},
     ["line 10", "`separator: 5` must be text"], MAPPING),
    ("mapping_version as a list", BASE + "mapping_version: [1]\n", {},
     ["line 11", "`mapping_version: [1]` must be text or a number"], MAPPING),
    ("unknown key", _with_file_key("delimeter: ';'"), {},
     ["line 5", "unknown key 'delimeter'", "Did you mean 'delimiter'"], MAPPING),
    ("unknown adverse-event term", BASE + "    adverse_events_wide: {columns: {Pneumonitis: pneumonitis}}\n", {},
     ["line 11", "column 'Pneumonitis'", "'pneumonitis', which is not in the code list 'ae_term'",
      "`pneumonitis: {label: Pneumonitis}`"], CODES),
    ("center of another file", _column("center: x_site", "center: y_site"), {},
     ["line 1", "`center: y_site` does not match the file name x_site.yaml"], MAPPING),
    ("a file outside the inbox", _column("name: p.csv", "name: ../p.csv"), {},
     ["line 4", "points outside the center's inbox folder"], MAPPING),
    ("YAML anchors", _column("      Sex: {to: patient.sex, vocab: sex}\n",
                             "      Sex: &s {to: patient.sex, vocab: sex}\n      Sex2: *s\n"), {},
     ["line 7", "anchors (&) and aliases (*) are not allowed"], MAPPING),
    ("YAML tags", _column("Age: {to: patient.age_years}", "Age: !!python/object {to: patient.age_years}"), {},
     ["line 8", "YAML tags such as"], MAPPING),
    ("broken YAML", _column("vocab: sex}", "vocab: sex"), {}, ["line 8", "not valid YAML"], MAPPING),
    ("a tab for indentation", _column("      Age", "\tAge"), {}, ["line 8", "not valid YAML"], MAPPING),
    ("an empty file", "", {}, ["x_site.yaml", "must be a set of `key: value` entries"], MAPPING),
    ("only comments", "# to do\n", {}, ["x_site.yaml", "must be a set of `key: value` entries"], MAPPING),
    ("a list at the top", "- center: x_site\n", {}, ["x_site.yaml", "must be a set of `key: value` entries"], MAPPING),
    ("non-UTF-8 YAML", BASE.replace("Sex", "Sexe_né").encode("latin-1"), {},
     ["x_site.yaml", "the mapping file is not UTF-8", "Save the YAML file as UTF-8"], MAPPING),
    ("a codes.yaml mistake", BASE, {"codes.yaml": "agent:\n  atezolizumab: {label: Atezolizumab}\n"},
     ["codes.yaml, line 2", "has no `class:`"], CODES),
    ("a codes.yaml that is not YAML", BASE, {"codes.yaml": "agent: [\n"}, ["codes.yaml, line 2", "not valid YAML"], CODES),
    ("a closed code list in codes.yaml", BASE, {"codes.yaml": "sex:\n  other: {label: Other}\n"},
     ["codes.yaml, line 1", "the code list 'sex' is closed"], CODES),
    ("a vocab/ spelling of a code nobody declared", BASE, {"vocab/agent.yaml": "codes:\n  atezolizumab: [Tecentriq]\n"},
     ["vocab/agent.yaml", "'atezolizumab' is not a code of the vocabulary agent"], CODES),
    ("a vocab/ spelling that changes a meaning", BASE, {"vocab/sex.yaml": "codes:\n  female: [M]\n"},
     ["vocab/sex.yaml", "'M' already means 'male'"], VOCAB),
]


def _project(tmp_path, mapping, extra: dict[str, str]):
    (tmp_path / "harmonise.yaml").write_text("study: mistakes\ncutoff: 2024-05-25\n"
                                             "pseudonym: {demo_key: true}\n", encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    path = tmp_path / "mappings" / "x_site.yaml"
    path.write_bytes(mapping) if isinstance(mapping, bytes) else path.write_text(mapping, encoding="utf-8")
    (tmp_path / "inbox" / "x_site").mkdir(parents=True)
    (tmp_path / "inbox" / "x_site" / "p.csv").write_text(EXPORT, encoding="utf-8")
    for name, text in extra.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("case", "mapping", "extra", "words", "fix"), CASES, ids=[c[0] for c in CASES])
def test_check_names_the_mistake_and_where_its_fix_belongs_without_a_traceback(tmp_path, case, mapping,
                                                                                extra, words, fix):
    project = _project(tmp_path, mapping, extra)
    result = runner.invoke(app, ["check", "x_site", "--project", str(project)], env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = " ".join(result.output.split())
    assert "Traceback" not in output and "Error:" not in output.split("✗")[0]
    assert result.exit_code not in (0, None), output
    assert "Structural problem" in output, output
    for expected in words:
        assert expected in output, (expected, output)
    assert f"The fix belongs in {fix}" in output, output


def test_the_unchanged_base_mapping_is_clean(tmp_path):
    """The cases above each break a mapping that is otherwise right."""
    project = _project(tmp_path, BASE, {})
    result = runner.invoke(app, ["check", "x_site", "--project", str(project)], env={"COLUMNS": "400"})
    assert "Structural problem" not in result.output, result.output
