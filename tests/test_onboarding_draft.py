"""`harmonise new-center`: each guess the drafter makes, its TODOs, and that a draft always loads.

Every test writes real export files to a tmp dir, drafts a mapping, and reads the draft
back with the mapping reader (``mappings.spec.load_mapping``), as a data manager would.
"""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from harmonise.schemas.reasons import rendered
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS
from harmonise.onboarding.draft import build_draft, draft_mapping, write_draft
from harmonise.onboarding.errors import OnboardingError
from harmonise.onboarding.headers import header_score, match_header
from harmonise.onboarding.suggest import suggest_code
from harmonise.mappings.engine import map_center
from harmonise.mappings.pseudonym import DEMO_KEY
from harmonise.mappings.spec import load_mapping
from tests.conftest import patients_mapping

NAMES = ["张三丰", "李四", "王小五", "赵六", "钱七", "孙八"]


def _write(tmp_path, name: str, frame: pd.DataFrame, **csv) -> str:
    path = tmp_path / name
    if name.endswith(".xlsx"):
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=csv.get("sheet", "Sheet1"), index=False)
    else:
        frame.to_csv(path, index=False, sep=csv.get("sep", ","), encoding=csv.get("encoding", "utf-8"))
    return str(path)


def _load(tmp_path, center: str, text: str):
    folder = tmp_path / "mappings_out"
    folder.mkdir(exist_ok=True)
    (folder / f"{center}.yaml").write_text(text, encoding="utf-8")
    return load_mapping(center, folder)


def _columns(mapping, i=0) -> dict:
    return {name: (c.action, c.table and f"{c.table}.{c.field}", c.vocab, c.separator, c.extract,
                   c.date_format, c.days_after)
            for name, c in mapping.files[i].columns.items()}


def _patients(n=6, **extra) -> pd.DataFrame:
    frame = pd.DataFrame({
        "MRN": [f"HN{i:05d}" for i in range(n)], "Name": NAMES[:n],
        "Sex": ["F", "M"] * (n // 2), "Age": [40 + i for i in range(n)],
        "Start date": [f"2022-0{i + 1}-15" for i in range(n)],
    })
    for key, values in extra.items():
        frame[key] = values
    return frame


def _block(text: str, column: str) -> str:
    """The draft lines about one column: its TODO comments and its entry."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{column}:"))
    start = end
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    return "\n".join(lines[start:end + 1])


# -- header matching -------------------------------------------------------------------------

@pytest.mark.parametrize("header, target", [
    ("Sex", "patient.sex"), ("GENDER", "patient.sex"), ("性别", "patient.sex"), ("xb", "patient.sex"),
    ("Age_yr", "patient.age_years"), ("年龄", "patient.age_years"),
    ("Histologie", "patient.histology"),                     # a near miss: difflib
    ("病理诊断", "patient.histology"), ("Path_Dx", "patient.histology"),
    ("Tx_Start", "treatment.start_date"), ("治疗开始日期", "treatment.start_date"),
    ("PD-1抑制剂", "treatment.immunotherapy_agent"), ("PD1", "treatment.immunotherapy_agent"),
    ("ECOG评分", "patient.ecog"), ("ECOG_PS", "patient.ecog"),
    ("末次随访日期", "outcome.last_followup_date"), ("LFU_Date", "outcome.last_followup_date"),
    ("既往系统治疗线数", "patient.prior_lines"), ("Best Overall Response", "outcome.best_response"),
    ("不良反应", "adverse_event.term"), ("CTCAE grade", "adverse_event.grade"),
    ("治疗方案", "split_regimen"),
])
def test_headers_match_canonical_columns_in_english_chinese_and_pinyin(header, target):
    assert match_header(header)[0][1] == target


@pytest.mark.parametrize("header", ["Remarks", "备注", "Column 7", "BMI"])
def test_unrelated_headers_match_nothing(header):
    assert match_header(header) == []


def test_header_score_ignores_case_separators_and_full_width_forms():
    assert header_score("TX_START", "tx start") == 1.0
    assert header_score("ＰＤ－１抑制剂", "pd-1抑制剂") == 1.0
    assert header_score("PatientAge", "age") > 0.8


# -- file format, encoding, delimiter, sheet, date format ---------------------------------------

def test_gbk_semicolon_export_gives_encoding_delimiter_and_date_format_that_read_it(tmp_path):
    frame = _patients().drop(columns=["Start date"])
    frame["开始日期"] = [f"15.0{i + 1}.2022" for i in range(6)]
    frame["性别"] = ["男", "女"] * 3
    frame = frame.drop(columns=["Sex"])
    folder = tmp_path / "inbox" / "x_site"
    folder.mkdir(parents=True)
    frame.to_csv(folder / "p.csv", index=False, sep=";", encoding="gbk")
    text = draft_mapping("x_site", [folder / "p.csv"])
    spec = _load(tmp_path, "x_site", text).files[0]
    assert (spec.format, spec.encoding, spec.delimiter) == ("csv", "gb18030", ";")
    assert spec.columns["开始日期"].date_format == ("%d.%m.%Y",)
    mapped = map_center(_load(tmp_path, "x_site", text), tmp_path / "inbox", DEMO_KEY.encode())
    assert list(mapped.frames["patient"].sex) == ["male", "female"] * 3
    assert mapped.frames["treatment"].start_date.iloc[0] == pd.Timestamp("2022-01-15")


def test_excel_workbook_gives_one_entry_per_sheet_with_roles_guessed(tmp_path):
    path = tmp_path / "export.xlsx"
    events = pd.DataFrame({"MRN": ["HN00000", "HN00000", "HN00001"], "AE term": ["Rash", "Fatigue", "Rash"],
                           "Grade": [1, 2, 1], "Onset date": ["2022-02-01", "2022-03-01", "2022-04-01"]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        events.to_excel(writer, sheet_name="AE", index=False)      # first sheet on purpose
        _patients().to_excel(writer, sheet_name="Patients", index=False)
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [path]))
    assert [(f.role, f.sheet, f.format) for f in mapping.files] == [
        ("patients", "Patients", "excel"), ("adverse_events", "AE", "excel")]
    assert mapping.files[1].columns["MRN"].action == "pseudonymise"    # links to the patients sheet


def test_the_commonest_date_format_is_the_files_default_and_others_are_per_column(tmp_path):
    frame = _patients(**{"End date": ["2022/09/01"] * 6, "Death date": ["2023/01/02"] * 6})
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)]))
    columns = mapping.files[0].columns
    assert columns["End date"].date_format == ("%Y/%m/%d",)
    assert columns["Death date"].date_format == ("%Y/%m/%d",)
    assert columns["Start date"].date_format == ("%Y-%m-%d",)


def test_ambiguous_day_month_dates_get_a_todo(tmp_path):
    frame = _patients().assign(**{"Start date": ["03/04/2021", "05/06/2021"] * 3})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    assert "ambiguous dates" in text and "%d/%m/%Y" in text and "%m/%d/%Y" in text


def test_excel_day_numbers_get_date_format_excel_serial(tmp_path):
    frame = _patients(**{"Tx_End": [44270 + i for i in range(6)]})
    path = _write(tmp_path, "p.xlsx", frame)
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [path]))
    assert mapping.files[0].columns["Tx_End"].date_format == ("excel_serial",)


def test_small_whole_numbers_in_a_date_column_become_days_after_start_with_a_todo(tmp_path):
    frame = _patients(**{"Death day": [100, 200, 300, 400, 500, 600]})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    column = _load(tmp_path, "x_site", text).files[0].columns["Death day"]
    assert column.days_after == ("treatment", "start_date") and column.unit == "days"
    assert "confirm the unit" in _block(text, "Death day")


# -- values and vocabularies -----------------------------------------------------------------

def test_a_coded_column_gets_its_vocabulary_and_all_known_values_need_no_todo(tmp_path):
    frame = _patients(Histology=["Synovial sarcoma", "ASPS", "血管肉瘤", "UPS", "LMS", "MFS"])
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    assert _columns(_load(tmp_path, "x_site", text))["Histology"][2] == "histology"
    assert "TODO" not in _block(text, "Histology")


def test_unknown_values_are_listed_in_a_todo_with_counts_and_a_likely_code(tmp_path):
    frame = _patients(Histology=["腺泡狀軟組織肉瘤", "腺泡狀軟組織肉瘤", "ASPS", "XQ-7", "UPS", "LMS"])
    block = _block(draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)]), "Histology")
    assert "TODO: 2 value(s) not in vocabulary 'histology'" in block
    assert "'腺泡狀軟組織肉瘤' x2 (like '腺泡状软组织肉瘤' = ASPS?)" in block
    assert "'XQ-7' x1" in block
    assert "values: {腺泡狀軟組織肉瘤: ASPS, XQ-7: ?}" in " ".join(
        line.strip("# ").strip() for line in block.splitlines())


def test_local_codes_such_as_1_and_2_for_sex_are_never_guessed(tmp_path):
    frame = _patients().assign(Sex=["1", "2"] * 3)
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    block = _block(text, "Sex")
    assert "'1' x3, '2' x3" in block and '"1": ?' in block.replace("#       ", "")
    assert _load(tmp_path, "x_site", text).files[0].columns["Sex"].values is None


def test_a_header_that_matches_nothing_is_mapped_by_its_values(tmp_path):
    frame = _patients(Col7=["Complete response", "PR", "SD", "PD", "SD", "PR"])
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    column = _load(tmp_path, "x_site", text).files[0].columns["Col7"]
    assert (column.table, column.field, column.vocab) == ("outcome", "best_response", "best_response")
    assert "in vocabulary 'best_response'" in _block(text, "Col7")


def test_several_agents_in_one_cell_get_the_separator_that_splits_them(tmp_path):
    frame = _patients(Chemotherapy=["吉西他滨、多西他赛", "多柔比星", "", "异环磷酰胺、多柔比星", "", "吉西他滨"])
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)]))
    column = mapping.files[0].columns["Chemotherapy"]
    assert (column.field, column.vocab, column.separator) == ("cytotoxic_agents", "agent", "、")


def test_a_regimen_in_one_cell_becomes_split_regimen(tmp_path):
    frame = _patients(Regimen=["Anlotinib + Sintilimab", "Camrelizumab", "Gemcitabine + Toripalimab"] * 2)
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)]))
    assert mapping.files[0].columns["Regimen"].action == "split_regimen"


def test_numbers_written_with_text_get_an_extract(tmp_path):
    frame = _patients(ECOG=["ECOG 0", "ECOG 1", "ECOG 2"] * 2)
    mapping = _load(tmp_path, "x_site", draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)]))
    assert mapping.files[0].columns["ECOG"].extract == r"(\d+)"


def test_yes_no_columns_map_to_booleans_without_todo(tmp_path):
    frame = _patients(**{"Lung metastasis": ["Y", "N"] * 3, "肺外转移": ["是", "否"] * 3})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    columns = _load(tmp_path, "x_site", text).files[0].columns
    assert columns["Lung metastasis"].type == columns["肺外转移"].type == "boolean"
    assert "TODO" not in _block(text, "Lung metastasis")


@pytest.mark.parametrize("value, vocabulary, code", [
    ("達伯舒", "agent", "sintilimab"),             # Traditional Chinese brand name
    ("Diarrhoea", "ae_term", "gastrointestinal_reaction"),
    ("Tox", "discontinuation_reason", "adverse_event"),
    ("黏液纖維肉瘤", "histology", "MFS"),
])
def test_suggested_codes_for_unknown_spellings(value, vocabulary, code):
    assert suggest_code(value, vocabulary)[0] == code


def test_no_suggestion_for_codes_that_mean_nothing_by_themselves():
    assert suggest_code("1", "sex") is None


# -- identifiers ---------------------------------------------------------------------------

def test_best_record_number_is_pseudonymised_and_every_other_identifier_dropped(tmp_path):
    frame = _patients(**{"Visit ID": [f"V{i}" for i in range(6)], "Phone": [f"1391234567{i}" for i in range(6)],
                         "身份证号": [f"41010219900101{i:03d}X" for i in range(6)]})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    columns = _columns(_load(tmp_path, "x_site", text))
    assert columns["MRN"][0] == "pseudonymise"
    assert {k for k, v in columns.items() if v[0] == "identifier"} == {"Name", "Visit ID", "Phone", "身份证号"}
    for secret in ["HN00001", "张三丰", "13912345671", "41010219900101001X"]:
        assert secret not in text


def test_without_a_record_number_the_first_column_is_marked_with_a_todo(tmp_path):
    frame = pd.DataFrame({"Code": ["a", "b", "c"], "Sex": ["F", "M", "F"], "Age": [40, 50, 60]})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    assert _columns(_load(tmp_path, "x_site", text))["Code"][0] == "pseudonymise"
    assert "no column looks like the patient's record number" in _block(text, "Code")


def test_an_adverse_events_file_is_linked_by_the_patients_files_identifier_column(tmp_path):
    events = pd.DataFrame({"MRN": ["HN00000"] * 4 + ["HN00001"] * 4, "AE": ["Rash", "Fatigue"] * 4,
                           "Grade": ["1级", "2级"] * 4})
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", _patients()),
                                    _write(tmp_path, "ae.csv", events)])
    mapping = _load(tmp_path, "x_site", text)
    assert [f.role for f in mapping.files] == ["patients", "adverse_events"]
    ae = _columns(mapping, 1)
    assert ae["MRN"][0] == "pseudonymise"
    assert ae["Grade"][1:5] == ("adverse_event.grade", None, None, r"(\d+)")


# -- TODOs and validity ----------------------------------------------------------------------

def test_unmatched_columns_are_dropped_with_a_todo_and_the_draft_loads(tmp_path):
    frame = _patients(Remarks=["called", "", "ok", "", "", "moved"], BMI=[21.5, 22, 30.1, 19, 25, 27])
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", frame)])
    columns = _columns(_load(tmp_path, "x_site", text))
    assert columns["Remarks"][0] == columns["BMI"][0] == "drop"
    assert "TODO: map or confirm drop" in _block(text, "Remarks")
    assert "TODO: map or confirm drop" in _block(text, "BMI")


def test_required_canonical_columns_no_column_fills_are_named_in_a_todo(tmp_path):
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", _patients())])
    assert "no column found for required canonical column(s)" in text
    assert "patient.histology" in text and "outcome.best_response" in text
    assert "treatment.course_no: 1" in text                        # one course per row: a constant


def test_a_draft_only_uses_the_mapping_language(tmp_path):
    text = draft_mapping("x_site", [_write(tmp_path, "p.csv", _patients())])
    data = yaml.safe_load(text)
    assert set(data) <= {"center", "mapping_version", "description", "files"}


@pytest.mark.parametrize("center, files", [
    ("site_a", ["site_a/site_a_patients.csv", "site_a/site_a_adverse_events.csv"]),
    ("site_b", ["site_b/site_b_export.xlsx"]),
])
def test_drafts_of_the_demo_exports_map_every_column_as_the_shipped_mappings_do(tmp_path, center, files):
    drafted = _load(tmp_path, center, draft_mapping(center, [DEMO_INBOX / f for f in files]))
    shipped = load_mapping(center, DEMO_MAPPINGS)
    for got, want in zip(drafted.files, shipped.files):
        assert (got.role, got.name, got.format, got.sheet) == (want.role, want.name, want.format, want.sheet)
        targets = lambda spec: {k: (c.action, c.table, c.field, c.vocab, c.separator)  # noqa: E731
                                for k, c in spec.columns.items()}
        assert targets(got) == targets(want)
        assert got.wide_adverse_events == want.wide_adverse_events
        assert got.constants == want.constants


def test_draft_of_the_gbk_demo_export_leaves_the_undecidable_as_todos(tmp_path):
    files = [DEMO_INBOX / "site_c" / "site_c_patients.csv", DEMO_INBOX / "site_c" / "site_c_adverse_events.csv"]
    text = draft_mapping("site_c", files)
    drafted = _load(tmp_path, "site_c", text)
    columns = drafted.files[0].columns
    assert (drafted.files[0].encoding, drafted.files[0].delimiter) == ("gb18030", ";")
    assert columns["BAH"].action == "pseudonymise" and columns["XM"].action == columns["TEL"].action == "identifier"
    assert columns["REGIMEN"].action == "split_regimen" and columns["ECOG"].extract
    counts = pd.read_csv(files[0], sep=";", encoding="gbk", dtype=str).SEX.value_counts()
    listed = ", ".join(f"'{value}' x{n}" for value, n in counts.items())
    assert listed in _block(text, "SEX")                              # sex 1/2: a TODO, not a guess
    assert "TODO: map or confirm drop" in _block(text, "LAST_DAY")
    assert "outcome.last_followup_date" in text


# -- errors ----------------------------------------------------------------------------------

def test_an_existing_mapping_is_not_overwritten_without_force(tmp_path):
    export = _write(tmp_path, "p.csv", _patients())
    (tmp_path / "x_site.yaml").write_text("center: x_site  # my edits\n", encoding="utf-8")
    with pytest.raises(OnboardingError) as err:
        write_draft("x_site", [export], mappings_dir=tmp_path)
    assert "already exists" in err.value.message and "--force" in err.value.message
    assert "my edits" in (tmp_path / "x_site.yaml").read_text(encoding="utf-8")
    draft = write_draft("x_site", [export], mappings_dir=tmp_path, force=True)
    assert draft.path.read_text(encoding="utf-8") == draft.text
    assert load_mapping("x_site", tmp_path).center == "x_site"


@pytest.mark.parametrize("center", ["Site D", "4site", "site-d", ""])
def test_an_invalid_center_id_is_refused_with_the_rule(tmp_path, center):
    with pytest.raises(OnboardingError, match="not a valid center id"):
        write_draft(center, [_write(tmp_path, "p.csv", _patients())], mappings_dir=tmp_path)


def test_a_missing_export_is_named(tmp_path):
    with pytest.raises(OnboardingError, match="no such export file"):
        build_draft("x_site", [tmp_path / "nope.csv"])


def test_only_an_adverse_events_file_is_not_enough(tmp_path):
    events = pd.DataFrame({"MRN": ["HN1", "HN1", "HN2"], "AE term": ["Rash", "Fatigue", "Rash"],
                           "Grade": [1, 2, 1]})
    with pytest.raises(OnboardingError, match="none of the exports looks like a patients file"):
        build_draft("x_site", [_write(tmp_path, "ae.csv", events)])


def test_two_exports_with_the_same_file_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a", "p.csv", _patients())
    second = _write(tmp_path / "b", "p.csv", _patients())
    with pytest.raises(OnboardingError, match="same file name"):
        build_draft("x_site", [first, second])


# -- the engine's `date_format: excel_serial` (a transform every center can use) --------------

def test_excel_serial_date_format_reads_excel_day_numbers_and_quarantines_the_rest(tmp_path):
    folder = tmp_path / "inbox" / "x_site"
    folder.mkdir(parents=True)
    (folder / "p.csv").write_text("ID,Sex,End\nA1,F,44270\nA2,M,44270.75\nA3,F,15-Mar-2021\nA4,M,soon\n",
                                  encoding="utf-8")
    text = patients_mapping("""\
      ID: {identifier: pseudonymise}
      Sex: {to: patient.sex, vocab: sex}
      End: {to: treatment.end_date, date_format: [excel_serial, "%d-%b-%Y"]}
""")
    mapped = map_center(_load(tmp_path, "x_site", text), tmp_path / "inbox", DEMO_KEY.encode())
    end = mapped.frames["treatment"]["end_date"]
    assert list(end.iloc[:3]) == [pd.Timestamp("2021-03-15")] * 3     # day number, with a time, and text
    assert pd.isna(end.iloc[3])
    issue = rendered(mapped.quarantine).iloc[0]
    assert (issue.check_name, issue.failed_value) == ("date_format", "soon")
    assert "excel_serial" in issue.reason
