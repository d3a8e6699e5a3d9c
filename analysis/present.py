"""Words and number formats for the report: what a clinician reads instead of Python values.

Conventions
-----------
* ``NR`` = not reached (a median or CI limit whose curve never reaches 50%); ``–`` (en
  dash) = missing or not estimable. Python's ``None``/``nan``/``True`` never reach a page.
* Months with one decimal, rates as percentages with one decimal, p-values with three
  decimals (``<0.001`` below that), hazard ratios with two decimals.
* Codes get their words in :mod:`analysis.labels` (from the plan and ``ref_code``).
"""
from __future__ import annotations

import pandas as pd


MISSING = "\u2013"
NR = "NR"
TRANSFORM_TEXT = {
    "log": "log transform (R survival default)",
    "log-log": "log-log transform (SAS and lifelines default)",
    "plain": "plain (linear) transform (R conf.type = \"plain\")",
}


class Withheld(str):
    """A number not shown in a shareable report (small-cell protection, :mod:`analysis.suppress`):
    the text is its mark, ``<5`` for a count below the threshold, ``*`` for a cell withheld so
    that such a count cannot be computed back from the others. Every formatter prints it as is."""

    def __format__(self, spec: str) -> str:
        return str(self)


def is_missing(x) -> bool:
    """True for None, NaN, pandas NA/NaT."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def pretty(text: str) -> str:
    """ASCII comparison signs as a clinician writes them."""
    return str(text).replace("<=", "\u2264").replace(">=", "\u2265")


def num(x, digits: int = 1) -> str:
    """A number with ``digits`` decimals; ``–`` when missing."""
    if isinstance(x, Withheld):
        return str(x)
    return MISSING if is_missing(x) else f"{float(x):.{digits}f}"


def count(x) -> str:
    """An integer count; ``–`` when missing."""
    if isinstance(x, Withheld):
        return str(x)
    return MISSING if is_missing(x) else str(int(round(float(x))))


def events(n) -> str:
    """``1 event``, ``3 events``; ``–`` when missing."""
    if isinstance(n, Withheld):
        return f"{n} events"
    if is_missing(n):
        return MISSING
    return "1 event" if int(round(float(n))) == 1 else f"{count(n)} events"


def general(x) -> str:
    """A summary value (median age, range limit) without trailing zeros; ``–`` when missing."""
    if isinstance(x, Withheld):
        return str(x)
    return MISSING if is_missing(x) else f"{float(x):g}"


def months(x, *, n: int | None = None) -> str:
    """A median in months: ``NR`` when not reached, ``–`` when the group is empty."""
    if isinstance(x, Withheld):
        return str(x)
    if n is not None and n == 0:
        return MISSING
    return NR if is_missing(x) else f"{float(x):.1f}"


def median_ci(median, lower, upper, *, n: int | None = None) -> str:
    """``19.5 (16.1–33.7)``; limits not reached are ``NR``."""
    if isinstance(median, Withheld):
        return str(median)
    if n is not None and n == 0:
        return MISSING
    return f"{months(median)} ({months(lower)}\u2013{months(upper)})"


def percent(x, digits: int = 1) -> str:
    """A proportion in [0, 1] as ``22.8%``."""
    return MISSING if is_missing(x) else f"{100 * float(x):.{digits}f}%"


def percent_ci(rate, lower, upper) -> str:
    """``84.8% (77.3–93.1)``."""
    if isinstance(rate, Withheld):
        return str(rate)
    if is_missing(rate):
        return MISSING
    return f"{percent(rate)} ({num(_pct(lower))}\u2013{num(_pct(upper))})"


def _pct(x):
    return None if is_missing(x) else 100 * float(x)


def p_value(p) -> str:
    """``<0.001``, ``0.004``, ``0.29``...; ``–`` when not testable."""
    if isinstance(p, Withheld):
        return str(p)
    if is_missing(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{float(p):.3f}"


def p_text(p) -> str:
    """``p = 0.013``, ``p < 0.001``, ``p = –`` (not testable): a p-value in a sentence."""
    text = p_value(p)
    return f"p {text.replace('<', '< ')}" if text.startswith("<") else f"p = {text}"


def hazard_ratio(hr, lower, upper, *, reference: bool = False, note: str = "") -> str:
    """``0.32 (0.16–0.63)``; ``1 (reference)``; ``–`` with the reason when not estimable."""
    if reference:
        return "1 (reference)"
    if isinstance(hr, Withheld):
        return str(hr)
    if is_missing(hr):
        return MISSING + (f" ({note})" if note else "")
    return f"{float(hr):.2f} ({num(lower, 2)}\u2013{num(upper, 2)})"


ITEM_WORDS = {"n": "Number of patients", "None": "No prior systemic therapy"}


def item_label(section: str, item: str) -> str:
    """Row label of a Table 1 characteristic in words (no bare "n" or "None")."""
    return ITEM_WORDS.get(str(item), pretty(item))


def histology_label(code: str, histology_labels: dict[str, str]) -> str:
    """``Alveolar soft part sarcoma (ASPS)``."""
    label = histology_labels.get(code)
    return f"{label} ({code})" if label else str(code)
