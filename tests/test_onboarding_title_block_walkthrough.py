"""A new hospital's workbook, built here, from `profile` to a clean `check` to the pooled report.

The export has what issue 10's data manager met: two sheets, a title block above the header,
Chinese headers and values, birth dates instead of ages, dates written 2023年3月5日, lines written
第2线, the regimen as one `+`-joined string, grades written 3级, a formula cell, names, national ID
numbers (with their check digit) and phones, and neither a stop reason nor an end date. YAML
only: the mapping below is the draft with its TODOs resolved. No birth date and no identifier
value may appear in anything the run prints or leaves on disk.
"""
from __future__ import annotations

import io
import random

import duckdb
import openpyxl
import pandas as pd
import pytest
from rich.console import Console

from harmonise.flows import steps
from harmonise.flows.onboarding import check_center, render_check
from harmonise.mappings.derive import age_from_birth_date
from harmonise.onboarding.draft import write_draft
from harmonise.onboarding.id_values import chinese_id_valid
from harmonise.onboarding.profile import profile
from harmonise.onboarding.profile_view import render_profile
from tests.conftest import ingest_all, study_workspace

CENTER = "site_e"
HEADER = ["病案号", "姓名", "身份证号", "联系电话", "性别", "出生日期", "病理类型", "原发部位",
          "肺转移", "其他转移", "ECOG", "既往治疗线数", "治疗线数", "治疗开始日期", "治疗方案",
          "最佳疗效", "进展日期", "死亡日期", "末次随访日期", "备注"]
SURNAMES, GIVEN = "王李张刘陈杨赵黄周吴", "伟芳娜敏静丽强磊军洋"
HISTOLOGY = ["腺泡状软组织肉瘤", "未分化多形性肉瘤", "滑膜肉瘤", "平滑肌肉瘤"]
REGIMENS = ["安罗替尼+信迪利单抗", "信迪利单抗", "阿帕替尼+卡瑞利珠单抗", "安罗替尼 + 特瑞普利单抗"]
RESPONSE = ["部分缓解", "疾病稳定", "疾病进展", "完全缓解"]
N = 12

MAPPING = """\
center: site_e
mapping_version: 1
description: Excel workbook, title block, Chinese headers, birth dates, no stop reason or end date.
files:
  - role: patients
    name: site_e_export.xlsx
    format: excel
    sheet: 患者
    header_row: 4                      # three rows of title block above the header
    date_format: "%Y年%m月%d日"
    not_recorded: [treatment.discontinuation_reason, treatment.end_date]
    columns:
      病案号: {identifier: pseudonymise}
      姓名: {identifier: drop}
      身份证号: {identifier: drop}
      联系电话: {identifier: drop}
      性别: {to: patient.sex, vocab: sex}
      出生日期: {to: patient.age_years, derive: age_from_birth_date}
      病理类型: {to: patient.histology, vocab: histology}
      原发部位: {to: patient.primary_site, vocab: primary_site}
      肺转移: {to: patient.lung_metastasis}
      其他转移: {to: patient.other_metastasis}
      ECOG: {to: patient.ecog}
      既往治疗线数: {to: patient.prior_lines}
      治疗线数: {to: treatment.line_of_therapy, extract: '第(\\d+)线'}
      治疗开始日期: {to: treatment.start_date}
      治疗方案: {split_regimen: {separator: "+"}}
      最佳疗效: {to: outcome.best_response, vocab: best_response}
      进展日期: {to: outcome.progression_date}
      死亡日期: {to: outcome.death_date}
      末次随访日期: {to: outcome.last_followup_date}
      备注: drop
    constants:
      treatment.course_no: 1
  - role: adverse_events
    name: site_e_export.xlsx
    format: excel
    sheet: 不良反应
    columns:
      病案号: {identifier: pseudonymise}
      不良反应: {to: adverse_event.term, vocab: ae_term}
      分级: {to: adverse_event.grade, extract: '(\\d)级'}
"""


def _chinese_id(rng: random.Random, birth: pd.Timestamp) -> str:
    body = f"{rng.randint(110000, 659000)}{birth:%Y%m%d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def _cn(day: pd.Timestamp) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def build_export(path, seed: int = 20240501) -> dict:
    """Write the workbook; return what the test must find: secrets and expected values."""
    rng = random.Random(seed)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "患者"
    sheet.append(["某某市肿瘤医院 软组织肉瘤免疫治疗患者数据导出"])
    sheet.append(["导出日期: 2024年5月20日"])
    sheet.append([])
    sheet.append(HEADER)
    secrets_, ages, deaths, events = [], [], 0, []
    for i in range(N):
        birth = pd.Timestamp("1950-01-01") + pd.Timedelta(days=rng.randint(0, 16000))
        start = pd.Timestamp("2022-01-10") + pd.Timedelta(days=rng.randint(0, 300))
        last = start + pd.Timedelta(days=rng.randint(120, 500))
        died = i % 3 == 0
        progressed = i % 2 == 0
        mrn, name = f"ZL{2021000 + i * 7}", rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        nid, phone = _chinese_id(rng, birth), f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}"
        assert chinese_id_valid(nid)
        secrets_ += [mrn, name, nid, phone, f"{birth:%Y-%m-%d}", _cn(birth)]
        ages.append(int(age_from_birth_date(pd.Series([birth]), pd.Series([start])).iloc[0]))
        deaths += died
        sheet.append([mrn, name, nid, phone, "男" if i % 2 else "女", _cn(birth),
                      HISTOLOGY[i % 4], "四肢" if i % 3 else "躯干", "是" if i % 2 else "否",
                      "否", i % 3, i % 3, f"第{i % 3 + 1}线", _cn(start), REGIMENS[i % 4],
                      RESPONSE[i % 4], _cn(start + pd.Timedelta(days=90)) if progressed else None,
                      _cn(last) if died else None, _cn(last), "=1+1" if i == 5 else None])
        if i % 2:
            events.append((mrn, "乏力", f"{i % 3 + 1}级"))
            events.append((mrn, "高血压", "2级"))
    ae = book.create_sheet("不良反应")
    ae.append(["病案号", "不良反应", "分级"])
    for row in events:
        ae.append(list(row))
    book.save(path)
    return {"secrets": secrets_, "ages": ages, "deaths": deaths, "events": len(events)}


@pytest.fixture
def workspace(tmp_path):
    return study_workspace(tmp_path, CENTER)


def _printed(render, *args) -> str:
    buffer = io.StringIO()
    render(*args, Console(file=buffer, width=200))
    return buffer.getvalue()


@pytest.mark.slow
def test_title_block_birth_dates_and_no_stop_reason_walk_to_the_pooled_report(workspace, capsys):
    settings = workspace
    export = settings.inbox / CENTER / "site_e_export.xlsx"
    truth = build_export(export)
    printed = []

    # profile: the title block is found, the identifiers and the birth dates are hidden
    found = profile(export)
    patients, events = found.tables
    assert (patients.header_row, events.header_row) == (4, 1)
    assert patients.unsaved_formulas == {"备注": 1}
    assert {c.name: c.identifier for c in patients.identifiers} == {
        "病案号": "mrn", "姓名": "name", "身份证号": "national_id", "联系电话": "phone",
        "出生日期": "birth_date"}
    assert [c.name for c in events.identifiers] == ["病案号"]   # the code linking the two sheets
    printed.append(_printed(render_profile, found))

    # new-center: the draft knows where the header is and what the birth date becomes
    draft = write_draft(CENTER, [export], mappings_dir=settings.mappings_dir)
    assert "header_row: 4" in draft.text
    assert "出生日期: {to: patient.age_years, derive: age_from_birth_date}" in draft.text
    printed.append(draft.text)

    # the data manager resolves the TODOs (YAML only), check is clean
    (settings.mappings_dir / f"{CENTER}.yaml").write_text(MAPPING, encoding="utf-8")
    report = check_center(CENTER, settings)
    printed.append(_printed(render_check, report))
    assert report.exit_code == 0, printed[-1]
    assert (report.patients, report.adverse_events) == (N, truth["events"])

    # ingest with the three study centers, then the pooled report
    results = ingest_all(settings)
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(
        ["site_a", "site_b", "site_c", CENTER], "loaded")
    assert (results[CENTER].patients_loaded, results[CENTER].rows_quarantined) == (N, 0)
    html = steps.write_report(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        ages = [r[0] for r in con.execute(
            "SELECT age_years FROM patient WHERE center_id = ? ORDER BY source_row", [CENTER]).fetchall()]
        reasons = con.execute("SELECT count(*) FROM treatment WHERE center_id = ? AND "
                              "discontinuation_reason IS NULL AND end_date IS NULL", [CENTER]).fetchone()[0]
        deaths = con.execute("SELECT count(death_date) FROM outcome WHERE center_id = ?",
                             [CENTER]).fetchone()[0]
    assert ages == truth["ages"]                 # computed in the test from the birth dates
    assert reasons == N                          # not recorded: stored empty, nothing invented
    assert deaths == truth["deaths"]

    # nothing identifying anywhere: printed lines, the warehouse, the report, logs
    captured = capsys.readouterr()
    printed += [captured.out, captured.err]
    leaving = [p for p in settings.home.rglob("*") if p.is_file()] + [html]
    blobs = {str(p): p.read_bytes() for p in leaving}
    for secret in truth["secrets"]:
        for text in printed:
            assert secret not in text
        for name, blob in blobs.items():
            assert secret.encode() not in blob, (secret, name)
