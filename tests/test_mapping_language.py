"""Each feature of the YAML mapping language, on small real export files written per test."""
from __future__ import annotations

import textwrap

import pandas as pd
import pytest
import yaml

from harmonise.schemas.reasons import rendered
from harmonise.mappings.engine import map_center
from tests.conftest import MINIMAL_MAPPING, write_center
from harmonise.mappings.errors import CenterError, MappingError
from harmonise.mappings.pseudonym import DEMO_KEY, pseudonymise
from harmonise.mappings.spec import load_mapping

KEY = DEMO_KEY.encode()

PATIENT_COLUMNS = """
      ID: {identifier: pseudonymise}
      NAME: {identifier: drop}
      SEX: {to: patient.sex, vocab: sex}
"""


def _center(tmp_path, yaml_text: str, files: dict[str, bytes | pd.DataFrame], center="x_site"):
    """Write mappings/<center>.yaml and the export files; return the mapped center."""
    return map_center(write_center(tmp_path, yaml_text, files, center), tmp_path / "inbox", KEY)


def _patients_yaml(columns: str, file_options: str = "", extra: str = "") -> str:
    """A mapping with one patients file; ``columns``, options and extra keys as YAML snippets."""
    patients = {"role": "patients", "name": "p.csv",
                **(yaml.safe_load(textwrap.dedent(file_options).replace("\n        ", "\n")) or {}),
                "columns": yaml.safe_load("\n".join(line.strip() for line in columns.splitlines()))}
    more = yaml.safe_load(textwrap.dedent(extra)) if extra.strip() else None
    files = [patients]
    if isinstance(more, list):
        files += more
    elif isinstance(more, dict):
        patients.update(more)
    return yaml.safe_dump({"center": "x_site", "files": files}, allow_unicode=True, sort_keys=False)


def test_gbk_semicolon_csv_is_read_with_renamed_columns(tmp_path):
    content = "ID;NAME;SEX\nA1;张三;男\nA2;李四;女\n".encode("gbk")
    mapped = _center(tmp_path, _patients_yaml(PATIENT_COLUMNS, 'encoding: gbk\n        delimiter: ";"'),
                     {"p.csv": content})
    assert list(mapped.frames["patient"].sex) == ["male", "female"]


def test_utf8_byte_order_mark_does_not_hide_the_first_column(tmp_path):
    content = "\ufeffID,NAME,SEX\nA1,Ann,F\n".encode("utf-8")
    mapped = _center(tmp_path, _patients_yaml(PATIENT_COLUMNS), {"p.csv": content})
    assert list(mapped.frames["patient"].sex) == ["female"]


def test_excel_sheet_with_chinese_headers_and_real_date_cells(tmp_path):
    sheet = pd.DataFrame({"ID": ["B1"], "NAME": ["王五"], "SEX": ["男"],
                          "开始": [pd.Timestamp("2022-03-15")], "结束": ["2022/04/01"]})
    yaml_text = _patients_yaml(PATIENT_COLUMNS + """
      开始: {to: treatment.start_date}
      结束: {to: treatment.end_date}
    """, 'format: excel\n        sheet: 数据\n        date_format: "%Y/%m/%d"')
    mapped = _center(tmp_path, yaml_text, {"p.csv": sheet})
    treatment = mapped.frames["treatment"]
    assert treatment.start_date.iloc[0] == pd.Timestamp("2022-03-15")
    assert treatment.end_date.iloc[0] == pd.Timestamp("2022-04-01")


def test_center_values_override_the_shared_vocabulary(tmp_path):
    columns = """
      ID: {identifier: pseudonymise}
      NAME: {identifier: drop}
      SEX: {to: patient.sex, values: {"1": male, "2": female}}
    """
    mapped = _center(tmp_path, _patients_yaml(columns), {"p.csv": b"ID,NAME,SEX\nA,a,1\nB,b,2\nC,c,M\n"})
    assert list(mapped.frames["patient"].sex) == ["male", "female", "male"]


def test_unknown_value_becomes_an_issue_naming_source_column_value_and_where_to_add_it(tmp_path):
    mapped = _center(tmp_path, _patients_yaml(PATIENT_COLUMNS), {"p.csv": b"ID,NAME,SEX\nA,a,X\n"})
    issue = rendered(mapped.quarantine).iloc[0]
    assert (issue.source_column, issue.failed_value, issue.check_name) == ("SEX", "X", "vocabulary:sex")
    assert "the project's vocab/sex.yaml" in issue.reason and "x_site.yaml" in issue.reason
    assert pd.isna(mapped.frames["patient"].sex.iloc[0])


def test_each_declared_date_format_is_tried_and_unparseable_dates_are_issues(tmp_path):
    columns = PATIENT_COLUMNS + """
      START: {to: treatment.start_date, date_format: ["%d.%m.%Y", "%Y/%m/%d"]}
"""
    content = b"ID,NAME,SEX,START\nA,a,F,15.03.2021\nB,b,M,2021/03/16\nC,c,M,2021-03-17\nD,d,F,March 1\n"
    mapped = _center(tmp_path, _patients_yaml(columns), {"p.csv": content})
    dates = mapped.frames["treatment"].start_date
    assert list(dates[:3]) == [pd.Timestamp("2021-03-15"), pd.Timestamp("2021-03-16"),
                               pd.Timestamp("2021-03-17")]
    assert list(rendered(mapped.quarantine).check_name) == ["date_format"]
    assert rendered(mapped.quarantine).iloc[0].failed_value == "March 1"


def test_days_after_start_with_a_unit_converts_offsets_to_dates(tmp_path):
    columns = PATIENT_COLUMNS + """
      START: {to: treatment.start_date}
      PD_DAY: {to: outcome.progression_date, days_after: treatment.start_date}
      LAST_WEEK: {to: outcome.last_followup_date, days_after: treatment.start_date, unit: weeks}
    """
    content = b"ID,NAME,SEX,START,PD_DAY,LAST_WEEK\nA,a,F,2021-01-01,31,10\nB,b,M,2021-01-01,,2\n"
    outcome = _center(tmp_path, _patients_yaml(columns), {"p.csv": content}).frames["outcome"]
    assert list(outcome.progression_date.astype(str)) == ["2021-02-01", "NaT"]
    assert list(outcome.last_followup_date.astype(str)) == ["2021-03-12", "2021-01-15"]


def test_days_after_resolves_a_base_date_from_the_patients_file(tmp_path):
    yaml_text = _patients_yaml(PATIENT_COLUMNS + "  START: {to: treatment.start_date}\n", extra="""
      - role: adverse_events
        name: ae.csv
        columns:
          ID: {identifier: pseudonymise}
          TERM: {to: adverse_event.term, vocab: ae_term}
          GRADE: {to: adverse_event.grade, extract: '(\\d)'}
          WEEK: {to: adverse_event.onset_date, days_after: treatment.start_date, unit: weeks}
    """)
    mapped = _center(tmp_path, yaml_text, {"p.csv": b"ID,NAME,SEX,START\nA,a,F,2021-01-01\n",
                                           "ae.csv": "ID,TERM,GRADE,WEEK\nA,乏力,2级,3\n".encode()})
    event = mapped.frames["adverse_event"].iloc[0]
    assert (event.term, event.grade, event.onset_date) == ("fatigue", 2, pd.Timestamp("2021-01-22"))


def test_split_regimen_sorts_agents_into_pd1_antiangiogenic_and_cytotoxic(tmp_path):
    columns = PATIENT_COLUMNS + "  REGIMEN: {split_regimen: {separator: '+'}}\n"
    content = (b"ID,NAME,SEX,REGIMEN\nA,a,F,Anlotinib + Sintilimab\n"
               b"B,b,M,Gemcitabine+Anlotinib+ sintilimab\nC,c,M,Sintilimab\nD,d,M,Camrelizumab+Sintilimab\n")
    mapped = _center(tmp_path, _patients_yaml(columns), {"p.csv": content})
    t = mapped.frames["treatment"]
    assert list(t.immunotherapy_agent[:3]) == ["sintilimab"] * 3
    assert list(t.antiangiogenic_agents[:3]) == ["anlotinib", "anlotinib", None]
    assert list(t.cytotoxic_agents[:3]) == [None, "gemcitabine", None]
    assert list(rendered(mapped.quarantine).check_name) == ["regimen_one_immunotherapy"]   # two PD-1 inhibitors in row D


def test_separator_joins_several_agents_in_one_cell_as_sorted_codes(tmp_path):
    columns = PATIENT_COLUMNS + "  CHEMO: {to: treatment.cytotoxic_agents, vocab: agent, separator: '、'}\n"
    content = "ID,NAME,SEX,CHEMO\nA,a,F,吉西他滨、多西他赛\nB,b,F,\n".encode()
    t = _center(tmp_path, _patients_yaml(columns), {"p.csv": content}).frames["treatment"]
    assert list(t.cytotoxic_agents) == ["docetaxel+gemcitabine", None]


def test_wide_adverse_event_columns_become_one_row_per_event(tmp_path):
    yaml_text = _patients_yaml(PATIENT_COLUMNS, extra="""
        adverse_events_wide:
          columns:
            乏力: fatigue
            高血压: hypertension
    """)
    content = "ID,NAME,SEX,乏力,高血压\nA,a,F,2,\nB,b,M,,3\nC,c,M,0,1\n".encode()
    events = _center(tmp_path, yaml_text, {"p.csv": content}).frames["adverse_event"]
    got = sorted(zip(events._source_row, events.term, events.grade))
    assert got == [(2, "fatigue", 2), (3, "hypertension", 3), (4, "hypertension", 1)]


def test_constants_fill_a_canonical_column(tmp_path):
    yaml_text = _patients_yaml(PATIENT_COLUMNS, extra="""
        constants:
          treatment.course_no: 1
    """)
    t = _center(tmp_path, yaml_text, {"p.csv": b"ID,NAME,SEX\nA,a,F\n"}).frames["treatment"]
    assert list(t.course_no) == [1]


def test_extract_keeps_the_matched_group(tmp_path):
    columns = PATIENT_COLUMNS + "  ECOG: {to: patient.ecog, extract: 'PS\\s*(\\d)'}\n"
    mapped = _center(tmp_path, _patients_yaml(columns), {"p.csv": b"ID,NAME,SEX,ECOG\nA,a,F,PS 1\nB,b,F,good\n"})
    assert mapped.frames["patient"].ecog.iloc[0] == 1
    assert list(rendered(mapped.quarantine).check_name) == ["extract"]


def test_comma_decimal_numbers_are_read_when_declared(tmp_path):
    columns = PATIENT_COLUMNS + "  AGE: {to: patient.age_years, decimal: ','}\n"
    mapped = _center(tmp_path, _patients_yaml(columns), {"p.csv": b'ID,NAME,SEX,AGE\nA,a,F,"46,0"\nB,b,F,"46,5"\n'})
    assert mapped.frames["patient"].age_years.iloc[0] == 46
    assert list(rendered(mapped.quarantine).check_name) == ["type:integer"]          # 46,5 is not a whole age


def test_identifiers_are_pseudonymised_or_dropped_and_never_in_the_frames(tmp_path):
    mapped = _center(tmp_path, _patients_yaml(PATIENT_COLUMNS), {"p.csv": "ID,NAME,SEX\nHN001,张三,男\n".encode()})
    patient = mapped.frames["patient"]
    expected = pseudonymise("x_site", pd.Series(["HN001"]), KEY).iloc[0]
    assert patient.patient_key.iloc[0] == expected and len(expected) == 24
    text = "".join(f.astype(str).to_csv() for f in mapped.frames.values())
    assert "HN001" not in text and "张三" not in text


def test_pseudonym_depends_on_the_key_and_the_center():
    ids = pd.Series(["HN001"])
    a = pseudonymise("site_a", ids, KEY).iloc[0]
    assert a != pseudonymise("site_b", ids, KEY).iloc[0]
    assert a != pseudonymise("site_a", ids, b"another-key-of-at-least-32-characters!!").iloc[0]
    assert a == pseudonymise("site_a", pd.Series(["ＨＮ００１ "]), KEY).iloc[0]   # full-width, spaces


# -- mistakes in mapping files: file, line, key, what would be valid ------------------------

def _load(tmp_path, text: str):
    (tmp_path / "x_site.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_mapping("x_site", tmp_path)


VALID = MINIMAL_MAPPING




def test_unknown_key_names_file_line_and_suggests_the_near_miss(tmp_path):
    with pytest.raises(MappingError) as err:
        _load(tmp_path, VALID.replace("vocab: sex", "vocabb: sex"))
    message = str(err.value)
    assert "x_site.yaml, line 7" in message and "'vocabb'" in message and "Did you mean 'vocab'" in message


def test_unknown_target_column_suggests_the_canonical_one(tmp_path):
    with pytest.raises(MappingError) as err:
        _load(tmp_path, VALID.replace("patient.sex", "patient.gender"))
    assert "'patient.gender'" in str(err.value) and "line 7" in str(err.value)


def test_unknown_vocabulary_lists_the_shared_ones(tmp_path):
    with pytest.raises(MappingError) as err:
        _load(tmp_path, VALID.replace("vocab: sex", "vocab: sexx"))
    assert "Did you mean 'sex'" in str(err.value)


def test_yaml_anchors_and_aliases_are_refused(tmp_path):
    text = VALID + "      AGE: &a {to: patient.age_years}\n      AGE2: *a\n"
    with pytest.raises(MappingError, match="anchors"):
        _load(tmp_path, text)


def test_python_tags_are_refused_and_nothing_is_executed(tmp_path):
    text = VALID.replace("name: p.csv", "name: !!python/object/apply:os.system ['touch pwned']")
    with pytest.raises(MappingError, match="tags"):
        _load(tmp_path, text)
    assert not (tmp_path / "pwned").exists()


def test_center_name_must_match_the_file_name(tmp_path):
    with pytest.raises(MappingError, match="does not match the file name"):
        _load(tmp_path, VALID.replace("center: x_site", "center: y_site"))


def test_a_file_without_a_pseudonymised_identifier_is_refused(tmp_path):
    with pytest.raises(MappingError, match="identifier: pseudonymise"):
        _load(tmp_path, VALID.replace("{identifier: pseudonymise}", "{identifier: drop}"))


def test_the_shipped_center_mappings_all_load():
    from harmonise.flows.settings import DEMO_MAPPINGS
    from harmonise.mappings.spec import list_centers
    centers = list_centers(DEMO_MAPPINGS)
    assert centers == ["site_a", "site_b", "site_c"]
    for center in centers:
        assert load_mapping(center, DEMO_MAPPINGS).files


def test_missing_export_file_is_a_center_error_listing_what_is_there(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "x_site.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "inbox" / "x_site").mkdir(parents=True)
    (tmp_path / "inbox" / "x_site" / "patients_2024.csv").write_text("ID,SEX\n")
    with pytest.raises(CenterError) as err:
        map_center(load_mapping("x_site", tmp_path / "mappings"), tmp_path / "inbox", KEY)
    assert "p.csv" in str(err.value) and "patients_2024.csv" in str(err.value)
