"""Synthetic identities of the cohort: MRNs, names, phone numbers, resident IDs, birth dates."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from harmonise.demo.cohort_spec import CENTERS


SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
            "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟"
            "熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
GIVEN_NAME_CHARS = {
    "female": "秀英华玉兰芳丽敏静燕娟艳霞红梅琳婷雪倩洁颖慧萍莉玲娜晶欣悦怡",
    "male": "伟强磊军勇杰涛斌超明刚平辉鹏飞鑫波宇浩凯健俊帆旭宁龙林峰建国志文博东亮成",
}
# Henan county-level region codes (Zhengzhou, Kaifeng, Luoyang, ... Zhumadian)
REGION_CODES = ("410102", "410103", "410105", "410122", "410181", "410202", "410302",
                "410402", "410502", "410702", "410802", "411002", "411102", "411302",
                "411402", "411502", "411602", "411702")
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139",
                  "150", "151", "152", "155", "156", "157", "158", "159",
                  "180", "181", "182", "183", "186", "187", "188", "189")
MRN_FORMATS = {"site_a": ("HN", 7), "site_b": ("", 8), "site_c": ("ZY-", 6)}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a Chinese resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return "10X98765432"[total % 11]


def _unique(draw, taken: set):
    while True:
        value = draw()
        if value not in taken:
            taken.add(value)
            return value


def _birth_date(start: dt.date, age: int, rng) -> dt.date:
    """A birth date giving exactly ``age`` completed years on ``start``."""
    def years_before(d: dt.date, years: int) -> dt.date:
        try:
            return d.replace(year=d.year - years)
        except ValueError:  # 29 February
            return d.replace(year=d.year - years, day=28)
    latest = years_before(start, age)
    earliest = years_before(start, age + 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=int(rng.integers(0, (latest - earliest).days + 1)))


def identities(df: pd.DataFrame, rng) -> pd.DataFrame:
    mrns, phones, ids = set(), set(), set()
    names: dict[str, set] = {c: set() for c in CENTERS}
    rows = []
    for row in df.itertuples():
        prefix, width = MRN_FORMATS[row.center_id]
        low = 10 ** (width - 1) if not prefix else 0
        mrn = _unique(lambda: f"{prefix}{int(rng.integers(low, 10 ** width)):0{width}d}", mrns)
        chars = GIVEN_NAME_CHARS[row.sex]

        def draw_name():
            given = "".join(chars[int(rng.integers(len(chars)))]
                            for _ in range(int(rng.integers(1, 3))))
            return SURNAMES[int(rng.integers(len(SURNAMES)))] + given
        name = _unique(draw_name, names[row.center_id])
        phone = _unique(lambda: PHONE_PREFIXES[int(rng.integers(len(PHONE_PREFIXES)))]
                        + f"{int(rng.integers(0, 10**8)):08d}", phones)
        birth = _birth_date(row.start_date, row.age_years, rng)

        def draw_id():
            seq = int(rng.integers(0, 100)) * 10 + int(rng.integers(0, 5)) * 2 \
                + (1 if row.sex == "male" else 0)  # 17th digit: odd = male
            first17 = (REGION_CODES[int(rng.integers(len(REGION_CODES)))]
                       + birth.strftime("%Y%m%d") + f"{seq:03d}")
            return first17 + id_check_char(first17)
        rows.append({"mrn": mrn, "name": name, "phone": phone,
                     "national_id": _unique(draw_id, ids)})
    return pd.DataFrame(rows, index=df.index)
