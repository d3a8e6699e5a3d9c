"""`harmonise profile`: reading any export as the engine will, and describing each column.

Real files in tmp dirs: CSV in several encodings and delimiters, Excel workbooks with
several sheets. Identifier columns are detected by small rules, and their values never
leave the profile.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.console import Console

from harmonise.onboarding.errors import OnboardingError
from harmonise.onboarding.identifiers import header_identifier_kind, identifier_kind
from harmonise.onboarding.profile import infer_type, profile
from harmonise.onboarding.profile_view import render_profile
from harmonise.onboarding.reading import detect_encoding, sniff_delimiter


def _csv(tmp_path, text: str, encoding="utf-8", name="export.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path, sheets: dict[str, pd.DataFrame], name="export.xlsx"):
    path = tmp_path / name
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, frame in sheets.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    return path


def _rendered(result) -> str:
    buffer = io.StringIO()
    render_profile(result, Console(file=buffer, width=200, highlight=False))
    return buffer.getvalue()


# -- encodings and delimiters ----------------------------------------------------------------

def test_plain_utf8_comma_csv_is_reported_as_utf8_and_comma(tmp_path):
    result = profile(_csv(tmp_path, "ID,Sex\nA1,F\nA2,M\n"))
    assert (result.format, result.encoding, result.delimiter) == ("csv", "utf-8", ",")
    assert [c.name for c in result.tables[0].columns] == ["ID", "Sex"]


def test_gbk_semicolon_csv_is_detected_as_gb18030_and_semicolon(tmp_path):
    text = "病案号;姓名;性别;病理诊断\nZY001;张三;男;滑膜肉瘤\nZY002;李四;女;血管肉瘤\nZY003;王五;男;平滑肌肉瘤\n"
    result = profile(_csv(tmp_path, text, encoding="gbk"))
    assert (result.encoding, result.delimiter) == ("gb18030", ";")
    assert "GBK" in result.encoding_note
    assert result.tables[0].column("性别").counts == {"男": 2, "女": 1}


def test_big5_traditional_chinese_csv_is_detected_as_big5(tmp_path):
    text = "編號,性別,病理\nT1,男,腺泡狀軟組織肉瘤\nT2,女,滑膜肉瘤\nT3,男,血管肉瘤\n"
    result = profile(_csv(tmp_path, text, encoding="big5"))
    assert result.encoding == "big5"
    assert "腺泡狀軟組織肉瘤" in result.tables[0].column("病理").counts


def test_western_cp1252_csv_is_detected_and_read(tmp_path):
    text = "id;Geschlecht;Diagnose\n1;männlich;Synovialsarkom\n2;weiblich;Angiosarkom – Rezidiv\n"
    result = profile(_csv(tmp_path, text, encoding="cp1252"))
    assert (result.encoding, result.delimiter) == ("cp1252", ";")
    assert "weiblich" in result.tables[0].column("Geschlecht").counts


def test_utf8_byte_order_mark_is_reported_and_does_not_hide_the_first_header(tmp_path):
    result = profile(_csv(tmp_path, "\ufeffMRN,Sex\nA1,F\n"))
    assert result.encoding == "utf-8" and "byte-order mark" in result.encoding_note
    assert result.tables[0].columns[0].name == "MRN"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_that_splits_every_line_alike_is_chosen(delimiter):
    text = "\n".join(delimiter.join(row) for row in
                     [["a", "b,c", "d"], ["1", "2", "3"], ["4", "5", "6"]]) if delimiter != "," else \
        "a,b,d\n1,2,3\n4,5,6\n"
    assert sniff_delimiter(text) == delimiter


def test_semicolon_wins_over_a_comma_decimal_inside_the_cells():
    assert sniff_delimiter("id;weight;height\n1;70,5;1,80\n2;80,1;1,75\n") == ";"


def test_detect_encoding_prefers_utf8_whenever_the_bytes_are_valid_utf8():
    assert detect_encoding("性别,男".encode("utf-8"))[0] == "utf-8"
    assert detect_encoding("性别,男".encode("gb18030"))[0] == "gb18030"


# -- Excel -----------------------------------------------------------------------------------

def test_excel_workbook_lists_every_sheet_and_profiles_each(tmp_path):
    path = _xlsx(tmp_path, {"患者": pd.DataFrame({"ID": ["A1", "A2"], "性别": ["男", "女"]}),
                            "AE": pd.DataFrame({"ID": ["A1"], "Grade": ["G2"]}),
                            "说明": pd.DataFrame()})
    result = profile(path)
    assert result.format == "excel"
    assert [(s.name, s.rows) for s in result.sheets][:2] == [("患者", 2), ("AE", 1)]
    assert "说明" in [s.name for s in result.sheets]
    assert [t.sheet for t in result.tables] == ["患者", "AE"]          # the empty sheet is only listed


def test_excel_sheet_option_profiles_that_sheet_only(tmp_path):
    path = _xlsx(tmp_path, {"one": pd.DataFrame({"a": [1]}), "two": pd.DataFrame({"b": [2]})})
    assert [t.sheet for t in profile(path, sheet="two").tables] == ["two"]


def test_unknown_sheet_is_an_error_suggesting_the_near_one(tmp_path):
    path = _xlsx(tmp_path, {"Patients": pd.DataFrame({"a": [1]})})
    with pytest.raises(OnboardingError) as err:
        profile(path, sheet="Patient")
    assert "no sheet 'Patient'" in err.value.message and "Did you mean 'Patients'" in err.value.message


def test_excel_date_cells_are_profiled_as_iso_dates(tmp_path):
    path = _xlsx(tmp_path, {"s": pd.DataFrame({"Start": [pd.Timestamp("2022-03-15"), pd.Timestamp("2022-04-01")]})})
    column = profile(path).tables[0].column("Start")
    assert column.type == "date" and column.date_formats == ("%Y-%m-%d",)


# -- types, emptiness, distinct values, date formats -------------------------------------------

@pytest.mark.parametrize("values, header, expected", [
    (["1", "2", "30"], "Age", "integer"),
    (["1.5", "2", "3.25"], "Weight", "number"),
    (["Y", "N", "Y"], "Lung met", "boolean-like"),
    (["是", "否"], "肺转移", "boolean-like"),
    (["0", "1"], "Flag", "integer"),
    (["2021-03-15", "2022-01-01"], "Start", "date"),
    (["15-Mar-2021", "01-Jan-2022"], "Start", "date"),
    (["Synovial sarcoma", "Angiosarcoma"], "Histology", "text"),
    (["44270", "44300"], "Tx_End", "date"),
    (["44270", "44300"], "Amount", "integer"),
    ([], "Empty", "empty"),
])
def test_inferred_type_of_a_column(values, header, expected):
    assert infer_type(pd.Series(values, dtype="string"), header)[0] == expected


def test_comma_decimal_numbers_are_numbers_with_the_decimal_mark_reported():
    assert infer_type(pd.Series(["70,5", "80,25"], dtype="string"), "Weight") == ("number", (), ",")


def test_date_formats_seen_are_those_that_parse_every_value():
    kind, formats, _ = infer_type(pd.Series(["15.03.2021", "01.04.2021"], dtype="string"), "Start")
    assert formats == ("%d.%m.%Y",)
    _, ambiguous, _ = infer_type(pd.Series(["03/04/2021", "05/06/2021"], dtype="string"), "Start")
    assert set(ambiguous) == {"%d/%m/%Y", "%m/%d/%Y"}                 # both read: both reported
    _, one, _ = infer_type(pd.Series(["03/04/2021", "25/06/2021"], dtype="string"), "Start")
    assert one == ("%d/%m/%Y",)
    _, chinese, _ = infer_type(pd.Series(["2021年3月15日"], dtype="string"), "日期")
    assert chinese == ("%Y年%m月%d日",)
    _, serial, _ = infer_type(pd.Series(["44270"], dtype="string"), "End date")
    assert serial == ("excel_serial",)


def test_null_rate_distinct_count_and_top_five_values_with_counts(tmp_path):
    rows = ["A"] * 4 + ["B"] * 3 + ["C", "D", "E", "F"] + [""] * 4
    text = "Col,Other\n" + "\n".join(f"{v},x" for v in rows) + "\n"
    column = profile(_csv(tmp_path, text)).tables[0].column("Col")
    assert (column.rows, column.nulls, column.distinct) == (15, 4, 6)
    assert column.null_rate == pytest.approx(4 / 15)
    assert column.top == [("A", 4), ("B", 3), ("C", 1), ("D", 1), ("E", 1)]


# -- direct identifiers ----------------------------------------------------------------------

NAMES = ["张三丰", "李四", "王小五", "赵六", "钱七", "孙八"]


@pytest.mark.parametrize("header, values, kind", [
    ("XM", NAMES, "name"),                                          # pinyin header, han values
    ("Column7", NAMES, "name"),                                     # values alone
    ("Patient name", ["Ann Lee", "Bo Chen", "Cy Wu"], "name"),      # header word
    ("患者", ["Ann Lee", "Bo Chen", "Cy Wu"], "name"),
    ("MRN", ["HN0001", "HN0002", "HN0003"], "mrn"),
    ("病案号", ["100231", "100232", "100233"], "mrn"),
    ("住院号", ["100231", "100231", "100232", "100232"], "mrn"),     # a long file: repeated, code-like
    ("Pt_ID", ["SD001", "SD002"], "mrn"),
    ("SFZ", ["11010519491231002X", "410102199001011234"], "national_id"),
    ("Contact", ["13912345678", "15887654321", "18600001111"], "phone"),
    ("电话", ["010-12345678", "(0371)87654321"], "phone"),
    ("Mail", ["a.b@example.org", "c@example.com"], "email"),
    ("家庭住址", ["河南省郑州市", "河南省开封市"], "address"),
    ("Address", ["1 Main St", "2 High St"], "address"),
])
def test_each_kind_of_direct_identifier_is_detected(header, values, kind):
    assert identifier_kind(header, pd.Series(values)) == kind


@pytest.mark.parametrize("header, values", [
    ("性别", ["男", "女", "男", "女", "男"]),
    ("不良反应", ["乏力", "皮疹", "高血压", "骨髓抑制", "蛋白尿"]),      # 2-4 han characters, but vocabulary
    ("原发部位", ["四肢", "躯干", "腹膜后"]),
    ("AE name", ["Rash", "Rash", "Fatigue", "Rash"]),               # "name" in header, values repeat
    ("Age", ["45", "52", "61"]),
    ("Start", ["2021-03-15", "2021-04-01"]),
    ("Grade", ["1", "2", "3"]),
])
def test_ordinary_clinical_columns_are_not_identifiers(header, values):
    assert identifier_kind(header, pd.Series(values)) is None


@pytest.mark.parametrize("header, kind", [
    ("患者姓名", "name"), ("患者编号", "mrn"), ("患者ID", "mrn"), ("PatientID", "mrn"),
    ("身份证号", "national_id"), ("ID card", "national_id"), ("联系电话", "phone"), ("ShouJi", "phone"),
    ("XingMing", "name"), ("E-mail", "email"), ("住址", "address"), ("Sex", None), ("Treatment line", None),
])
def test_identifier_header_words(header, kind):
    assert header_identifier_kind(header) == kind


def test_identifier_values_are_never_kept_and_shown_hidden_with_the_reason(tmp_path):
    text = "MRN,Name,Phone,SFZ,Sex\n" + "\n".join(
        f"HN{i:04d},{n},139{i:08d},41010219900101{i:03d}X,F" for i, n in enumerate(NAMES)) + "\n"
    result = profile(_csv(tmp_path, text))
    table = result.tables[0]
    assert [c.identifier for c in table.columns] == ["mrn", "name", "phone", "national_id", None]
    for column in table.identifiers:
        assert column.counts == {} and column.top == []
    shown = _rendered(result)
    assert "(hidden: looks like a phone number)" in shown
    assert "(hidden: looks like a national ID number)" in shown
    assert "(hidden: looks like a person's name)" in shown
    assert "(hidden: looks like a medical record number)" in shown
    for secret in ["HN0001", "张三丰", "13900000001", "41010219900101001X"]:
        assert secret not in shown


def test_free_text_is_hidden_but_a_regimen_list_is_shown(tmp_path):
    notes = [f"Patient {i} called about the next appointment on Monday" for i in range(6)]
    regimens = ["Gemcitabine + Anlotinib + Sintilimab", "Doxorubicin + Anlotinib + Sintilimab",
                "Apatinib + Camrelizumab", "Docetaxel + Gemcitabine + Sintilimab",
                "Ifosfamide + Apatinib + Camrelizumab", "Anlotinib + Toripalimab"]
    frame = pd.DataFrame({"Notes": notes, "Regimen": regimens})
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    table = profile(path).tables[0]
    assert table.column("Notes").hidden.startswith("free text") and table.column("Notes").counts == {}
    assert table.column("Regimen").hidden is None


def test_the_demo_site_d_workbook_profile_finds_its_four_identifiers():
    from harmonise.demo.site_d import EXPORT_DIR, EXPORT_NAME
    result = profile(EXPORT_DIR / EXPORT_NAME)
    patients, events = result.tables
    assert {c.name: c.identifier for c in patients.identifiers} == {
        "Pt_ID": "mrn", "XingMing": "name", "ShouJi": "phone", "SFZ": "national_id"}
    assert [c.name for c in events.identifiers] == ["Pt_ID"]
    assert patients.column("Tx_End").date_formats == ("excel_serial",)
    assert patients.column("Tx_Start").date_formats == ("%d-%b-%Y",)


# -- errors ----------------------------------------------------------------------------------

def test_missing_export_file_names_it_and_lists_the_folder(tmp_path):
    (tmp_path / "patients_2024.csv").write_text("a\n1\n")
    with pytest.raises(OnboardingError) as err:
        profile(tmp_path / "patients.csv")
    assert "no such export file" in err.value.message
    assert "patients.csv" in err.value.message and "patients_2024.csv" in err.value.message


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(OnboardingError, match="the file is empty"):
        profile(tmp_path / "e.csv")


def test_old_xls_file_asks_for_xlsx_or_csv(tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(OnboardingError) as err:
        profile(tmp_path / "old.xls")
    assert ".xls" in err.value.message and "save it as .xlsx" in err.value.message


def test_damaged_workbook_is_unreadable_with_a_hint(tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(OnboardingError) as err:
        profile(tmp_path / "broken.xlsx")
    assert "cannot be opened" in err.value.message and "Hint:" in err.value.message


def test_binary_file_is_not_taken_for_csv(tmp_path):
    (tmp_path / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(OnboardingError, match="does not look like a CSV"):
        profile(tmp_path / "image.csv")


def test_csv_with_ragged_rows_is_unreadable_with_the_parser_complaint(tmp_path):
    path = _csv(tmp_path, "a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(OnboardingError) as err:
        profile(path)
    assert "cannot be read" in err.value.message and "delimiter" in err.value.message
