"""The committed demo exports are exactly what the seeded generator writes, in each center's shape."""
from __future__ import annotations

import pandas as pd

from harmonise.demo.cohort import build_cohort
from harmonise.demo.exports import EXPORTS_DIR, write_exports


def test_committed_exports_equal_a_fresh_generation(tmp_path):
    written = write_exports(build_cohort(), tmp_path)
    for path in written:
        committed = EXPORTS_DIR / path.relative_to(tmp_path)
        if path.suffix == ".xlsx":   # workbooks embed a creation time: compare the cells
            assert pd.read_excel(path, dtype=str).equals(pd.read_excel(committed, dtype=str)), path.name
        else:
            assert path.read_bytes() == committed.read_bytes(), path.name


def test_exports_differ_the_way_hospital_exports_differ():
    a = (EXPORTS_DIR / "site_a" / "site_a_patients.csv").read_text(encoding="utf-8")
    assert a.startswith("MRN,Patient name,")
    b = pd.read_excel(EXPORTS_DIR / "site_b" / "site_b_export.xlsx", sheet_name="患者数据", dtype=str)
    assert {"男", "女"} >= set(b["性别"]) and b["治疗开始日期"].str.match(r"^\d{4}/\d{2}/\d{2}$").all()
    assert "骨髓抑制" in b.columns                         # one column per adverse event
    raw_c = (EXPORTS_DIR / "site_c" / "site_c_patients.csv").read_bytes()
    c = pd.read_csv(EXPORTS_DIR / "site_c" / "site_c_patients.csv", sep=";", encoding="gbk", dtype=str)
    try:
        raw_c.decode("utf-8")
        is_utf8 = True
    except UnicodeDecodeError:
        is_utf8 = False
    assert not is_utf8                                      # really GBK, not UTF-8
    assert set(c.SEX) <= {"1", "2"} and c.ECOG.str.startswith("PS ").all()
    assert c.REGIMEN.str.contains(r" \+ ").any()
    assert c.PD_DAY.dropna().str.fullmatch(r"\d+").all()   # days from start, not dates
