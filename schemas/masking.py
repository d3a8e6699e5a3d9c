"""What a quarantined value may look like outside the center that owns it.

A value in the wrong column can be a person's name or record number. So outside the
center's private store (the pooled warehouse, the report, logs, the console) a value is
only its **shape**: letters as ``A``/``a`` (``X`` for letters without case, e.g. Chinese),
digits as ``9``, spaces and ASCII punctuation kept, and its length when long:
``Zhang Weiming`` -> ``Aaaaa Aaaaaaa``, ``31/12/2020`` -> ``99/99/9999``. A shape tells a
data manager what went wrong (the dates are day-first) without telling anyone who.

Inside the private store the value is kept as read, unless it looks like an identifier
(an ID number, a phone number, a record number, an e-mail address, a date in a birth-date
column): those are masked even there, to their shape and the kind of identifier.
"""
from __future__ import annotations

import re
import string

#: Longest shape shown in full; longer values show their start and their length.
MAX_SHAPE = 40
_KEPT = set(string.punctuation) | {" "}

#: Value patterns of direct identifiers (whole value, after trimming).
IDENTIFIER_PATTERNS: dict[str, re.Pattern] = {
    "an ID number": re.compile(r"\d{15}|\d{17}[\dXx]|\d{3}-\d{2}-\d{4}"),
    "a record number": re.compile(r"[A-Za-z]{1,4}[-_ ]?\d{4,}|\d{6,}"),
    "an e-mail address": re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
}
_DATE = re.compile(r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}日?")
_BIRTH_WORDS = ("birth", "dob", "出生", "生日", "naissance", "geburt", "nacimiento")


def shape(value: str | None) -> str | None:
    """The value's shape (see the module's words); missing stays missing."""
    if value is None:
        return None
    text = str(value)
    out = []
    for ch in text[:MAX_SHAPE]:
        if ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("A" if ch.isupper() else "a" if ch.islower() else "X")
        else:
            out.append(ch if ch in _KEPT else "?")
    shown = "".join(out)
    return shown if len(text) <= MAX_SHAPE else f"{shown}… ({len(text):,} characters)"


def identifier_kind(value: str | None, source_column: str | None = None) -> str | None:
    """Which kind of identifier ``value`` looks like, or None."""
    if value is None:
        return None
    text = str(value).strip()
    for kind, pattern in IDENTIFIER_PATTERNS.items():
        if pattern.fullmatch(text):
            return kind
    digits = re.sub(r"[\s().+-]", "", text)
    if digits.isdigit() and 8 <= len(digits) <= 15 and not _DATE.fullmatch(text):
        return "a phone number"
    column = (source_column or "").casefold()
    if _DATE.fullmatch(text) and any(word in column for word in _BIRTH_WORDS):
        return "a date of birth"
    return None


def private_value(value: str | None, source_column: str | None = None) -> str | None:
    """The value for the center's private store: as read, unless it looks like an identifier."""
    kind = identifier_kind(value, source_column)
    if kind is None:
        return value
    return f"[masked: looks like {kind}; shape {shape(value)}]"
