"""Every mistake a data manager can make in a mapping file is named with file, line and a fix.

Complements tests/test_mapping_language.py (unknown key, target, vocabulary, anchors, tags,
center name, missing pseudonymised identifier): the remaining messages of
``mappings/spec.py``, each on a small real YAML file.
"""
from __future__ import annotations

import textwrap

import pytest

from tests.conftest import MINIMAL_MAPPING
from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import MAX_MAPPING_BYTES, load_mapping

VALID = MINIMAL_MAPPING


def _error(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "x_site.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping("x_site", tmp_path)
    return err.value.message


# (what is wrong, the YAML, words the message must contain)
CASES = [
    ("broken YAML", VALID.replace("{to: patient.sex, vocab: sex}", "{to: patient.sex, vocab: sex"),
     ["not valid YAML", "line 8", "Check indentation and quoting"]),
    ("not a mapping", "- just\n- a list\n", ["must be a set of `key: value` entries"]),
    ("no files", "center: x_site\nfiles: []\n", ["`files:` must list at least one export file", "line 2"]),
    ("no patients file", VALID.replace("role: patients", "role: adverse_events").replace(
        "SEX: {to: patient.sex, vocab: sex}", "AE: {to: adverse_event.term, vocab: ae_term}"),
     ["no file has `role: patients`"]),
    ("file entry without name", VALID.replace("    name: p.csv\n", ""),
     ["files entry 1 has no `name:`", "line 3", "Add `name:`"]),
    ("misspelt role", VALID.replace("role: patients", "role: patient"),
     ["'patient' is not a valid role", "line 3", "Did you mean 'patients'"]),
    ("misspelt format", VALID.replace("    name: p.csv\n", "    name: p.csv\n    format: xlsx\n"),
     ["'xlsx' is not a valid format", "line 5", "Valid values: csv, excel"]),
    ("misspelt drop", VALID + "      NOTES: dorp\n",
     ["'dorp' is not a valid NOTES", "Did you mean 'drop'"]),
    ("column as a list", VALID + "      NOTES: [a, b]\n",
     ["column 'NOTES' must be `drop`, `ignore` or a set of keys", "line 8"]),
    ("column without to", VALID + "      AGE: {vocab: sex}\n",
     ["column 'AGE' says neither `to:`, `identifier:` nor `split_regimen:`", "line 8",
      "write `drop` if it is not needed"]),
    ("misspelt identifier action", VALID + "      NAME: {identifier: remove}\n",
     ["'remove' is not a valid identifier", "Valid values: drop, pseudonymise"]),
    ("misspelt type", VALID + "      AGE: {to: patient.age_years, type: int}\n",
     ["'int' is not a valid type", "Did you mean 'integer'"]),
    ("misspelt unit", VALID + "      DAY: {to: treatment.end_date, days_after: treatment.start_date, unit: day}\n",
     ["'day' is not a valid unit", "Did you mean 'days'"]),
    ("days_after a column that is not a date", VALID + "      DAY: {to: treatment.end_date, days_after: patient.age_years}\n",
     ["'patient.age_years' is not a canonical column", "line 8"]),
    ("extract without a group", VALID + "      ECOG: {to: patient.ecog, extract: 'PS\\s*\\d'}\n",
     ["extract pattern is not usable", "exactly one (group)", "line 8"]),
    ("values as a list", VALID + "      HIST: {to: patient.histology, values: [a, b]}\n",
     ["`values:` must map source spellings to codes", "line 8"]),
    ("split_regimen in an adverse-events file", VALID + """\
  - role: adverse_events
    name: ae.csv
    columns:
      ID: {identifier: pseudonymise}
      REGIMEN: {split_regimen: {separator: "+"}}
""", ["split_regimen is only for patients files", "line 12"]),
    ("a patients-file column in an adverse-events file", VALID + """\
  - role: adverse_events
    name: ae.csv
    columns:
      ID: {identifier: pseudonymise}
      SEX: {to: patient.sex}
""", ["'patient.sex' is not a canonical column a adverse_events file can fill", "line 12"]),
    ("wide adverse events in an adverse-events file", VALID + """\
  - role: adverse_events
    name: ae.csv
    columns:
      ID: {identifier: pseudonymise}
    adverse_events_wide:
      columns: {乏力: fatigue}
""", ["adverse_events_wide belongs to a patients file", "line 12"]),
    ("unknown adverse-event term", VALID + "    adverse_events_wide:\n      columns: {乏力: fatique}\n",
     ["maps column '乏力' to the term 'fatique', which is not in the code list 'ae_term'",
      "If you meant the code 'fatigue', correct the mapping"]),
    ("unknown key in adverse_events_wide", VALID + "    adverse_events_wide:\n      colums: {乏力: fatigue}\n",
     ["unknown key 'colums' in adverse_events_wide", "Did you mean 'columns'"]),
    ("unknown constant target", VALID + "    constants:\n      treatment.course: 1\n",
     ["'treatment.course' is not a canonical column", "Did you mean 'treatment.course_no'"]),
    ("two pseudonymised columns", VALID + "      MRN: {identifier: pseudonymise}\n",
     ["exactly one column with `identifier: pseudonymise` (found 2)"]),
    ("unknown top-level key", VALID + "mapping_verison: 2\n",
     ["unknown key 'mapping_verison' in the mapping file", "line 8", "Did you mean 'mapping_version'"]),
]


@pytest.mark.parametrize("text, expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_mapping_file_mistake_is_named_with_file_line_and_fix(tmp_path, text, expected):
    message = _error(tmp_path, text)
    assert "x_site.yaml" in message
    for words in expected:
        assert words in message, (words, message)


def test_a_mapping_file_that_is_not_utf8_asks_to_save_it_as_utf8(tmp_path):
    message = _error(tmp_path, VALID.replace("SEX", "性别").encode("gbk"))
    assert "not UTF-8" in message and "Save the YAML file as UTF-8" in message


def test_an_oversized_mapping_file_is_refused(tmp_path):
    message = _error(tmp_path, VALID + "#" * (MAX_MAPPING_BYTES + 1) + "\n")
    assert f"the limit is {MAX_MAPPING_BYTES}" in message


def test_a_center_without_mapping_file_lists_the_centers_that_have_one(tmp_path):
    (tmp_path / "site_a.yaml").write_text(VALID.replace("x_site", "site_a"), encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping("x_site", tmp_path)
    assert "no mapping file for this center" in err.value.message
    assert "adding-a-center.md" in err.value.message and "site_a" in err.value.message
