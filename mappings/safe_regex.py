"""Regular expressions from mapping files, run by a linear-time engine (RE2).

A mapping file is data written by a data manager, and Python's own ``re`` backtracks:
``'^((?:a+)+)$'`` on a cell of 34 a's and a '!' runs for hours and holds the whole run.
RE2 matches in time linear in the cell, whatever the pattern. It does not know
backreferences (``\\1``) or lookarounds (``(?=``); such a pattern is refused when the
mapping is read, with RE2's own words.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr itself


class PatternError(ValueError):
    """The pattern is not valid for RE2 (the message says why)."""


@lru_cache(maxsize=256)
def compile_pattern(pattern: str):
    """The compiled pattern; raises ``PatternError`` in words a data manager can act on."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"{reason} (backreferences such as \\1 and lookarounds such as (?= "
                           "are not supported)") from None


def extract_group(text: pd.Series, pattern: str) -> pd.Series:
    """The first group of the first match in each cell; missing where it does not match."""
    compiled = compile_pattern(pattern)

    def one(cell):
        if cell is None or cell is pd.NA or not isinstance(cell, str):
            return pd.NA
        match = compiled.search(cell)
        return pd.NA if match is None or match.group(1) is None else match.group(1)

    return text.map(one).astype("string")
