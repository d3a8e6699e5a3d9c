"""Identifiers recognised by their values alone: checksums, phone shapes, near-unique codes.

A header may say nothing ("Unnamed: 3", a title block above the real header, a language the
header words do not cover), so the values decide too:

- **national ID numbers with a check digit**: the Chinese resident ID (18 characters, ISO
  7064 MOD 11-2) and the French NIR (13 digits + a 2-digit key, 97 - n mod 97);
- **phone numbers** in international or national form (``+33 6 12 34 56 78``,
  ``0612345678``, ``+49 151 2345678``), besides the Chinese shapes of ``identifiers``;
- **near-unique codes**: a column of codes with digits, distinct on (almost) every row,
  which is how a record number looks; and a column holding another table's near-unique
  codes links the two (``profile.mark_linking_codes``, by salted ``digests``).

``looks_identifying(value)`` judges one value, so that ``check`` and ``profile`` never
print a single identifier even from a column nobody marked.
"""
from __future__ import annotations

import hashlib
import re
import secrets

import pandas as pd

CHINESE_ID = re.compile(r"\d{17}[\dXx]")
NIR = re.compile(r"[12]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2[AB])\d{6}\d{2}")
INTERNATIONAL_PHONE = re.compile(r"(?:\+|00)\d{1,3}[ .\-/]?(?:\(0\))?[ .\-/]?\d(?:[ .\-/]?\d){6,12}")
NATIONAL_PHONE = re.compile(r"0\d(?:[ .\-/]?\d){7,10}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
CODE_WITH_DIGITS = re.compile(r"(?=.*\d{3})[A-Za-z0-9][A-Za-z0-9_\-/]{2,23}")
DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(?:19|20)\d{6}"
                       r"|\d{1,2}[-/. ]?[A-Za-z]{3,9}[-/. ]?\d{2,4}")
#: Share of distinct values above which a column of codes is "near-unique".
NEAR_UNIQUE = 0.95
#: Share of one column's values found in another for the two to "link" (same patients).
LINK_SHARE = 0.8
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def chinese_id_valid(value: str) -> bool:
    """Whether an 18-character Chinese resident ID's last character is its check digit."""
    text = str(value).strip().upper()
    if not CHINESE_ID.fullmatch(text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS))
    return "10X98765432"[total % 11] == text[17]


def nir_valid(value: str) -> bool:
    """Whether a French NIR (social security number, 15 characters) carries its right key."""
    text = re.sub(r"[\s.\-]", "", str(value)).upper()
    if not NIR.fullmatch(text):
        return False
    body = text[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(body) % 97 == int(text[13:])


def phone_like(value: str) -> bool:
    text = str(value).strip()
    digits = sum(ch.isdigit() for ch in text)
    if not 9 <= digits <= 15:
        return False
    return bool(INTERNATIONAL_PHONE.fullmatch(text) or NATIONAL_PHONE.fullmatch(text))


def value_kind(value: str) -> str | None:
    """The identifier kind one value unmistakably is (national_id | phone | email), if any."""
    text = str(value).strip()
    if chinese_id_valid(text) or nir_valid(text):
        return "national_id"
    if EMAIL.fullmatch(text):
        return "email"
    if phone_like(text):
        return "phone"
    return None


def looks_identifying(value) -> bool:
    """Whether a single value must never be printed (an ID number, a phone, an e-mail)."""
    return value is not None and not (isinstance(value, float) and value != value) \
        and value_kind(str(value)) is not None


def kind_by_values(values: pd.Series, share: float) -> str | None:
    """The kind most values (>= ``share``) of a column unmistakably are, if any."""
    if values.empty:
        return None
    kinds = values.astype(str).map(value_kind)
    counts = kinds.value_counts()
    if len(counts) and counts.iloc[0] / len(values) >= share:
        return str(counts.index[0])
    return None


def near_unique_code(values: pd.Series) -> bool:
    """Codes with digits, distinct on (almost) every row: how a record number looks.

    Plain whole numbers shorter than 6 digits are not enough (day offsets, lab values).
    """
    text = values.dropna().astype(str).str.strip()
    if len(text) < 5 or text.nunique() / len(text) < NEAR_UNIQUE:
        return False
    if not text.str.fullmatch(CODE_WITH_DIGITS).all() or text.str.fullmatch(DATE_LIKE).any():
        return False
    plain = text.str.fullmatch(r"\d+")
    return bool((~plain).all() or text[plain].str.len().min() >= 6)


#: A salt drawn once per process: digests compare values within one profile run and mean
#: nothing outside it (a digest of a short record number could otherwise be reversed).
_SALT = secrets.token_bytes(16)


def digests(values: pd.Series) -> frozenset[str]:
    """Salted digests of distinct values, to compare two columns without keeping values."""
    return frozenset(hashlib.blake2b(str(v).strip().encode(), key=_SALT, digest_size=8).hexdigest()
                     for v in values.dropna().head(20_000))
