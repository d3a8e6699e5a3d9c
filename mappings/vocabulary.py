"""Shared vocabularies: source spellings -> canonical codes.

A vocabulary file in ``mappings/vocab/NAME.yaml`` lists, for each canonical code of
``schemas/codes.yaml``, the spellings hospitals use for it. A center may add or
override spellings for one column with ``values:`` in its mapping file; those win.

Matching is forgiving about form, strict about content: case, surrounding spaces,
repeated spaces and full-width characters are ignored; anything else must be listed.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from harmonise.schemas.codes import all_vocabularies

VOCAB_DIR = Path(__file__).with_name("vocab")
BOOLEAN = "boolean"


def normalise(value: str) -> str:
    """The matching form of a spelling: NFKC, case-folded, single-spaced, stripped."""
    text = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    return re.sub(r"\s+", " ", text)


def available() -> list[str]:
    """Names of the shared vocabularies (file names in ``mappings/vocab/``)."""
    return sorted(p.stem for p in VOCAB_DIR.glob("*.yaml"))


@cache
def shared(name: str) -> dict[str, str]:
    """``{normalised spelling: code}`` of one shared vocabulary, codes matching themselves."""
    path = VOCAB_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    codes = spec["codes"]
    canonical = all_vocabularies().get(spec["vocabulary"])
    if canonical is not None:
        unknown = sorted(set(codes) - set(canonical))
        if unknown:
            raise ValueError(f"{path}: {unknown} are not codes of '{spec['vocabulary']}' in "
                             "schemas/codes.yaml; add them there first.")
        codes = {code: codes.get(code) or [] for code in canonical}
    lookup: dict[str, str] = {}
    for code, spellings in codes.items():
        for spelling in [code, *(spellings or [])]:
            if isinstance(spelling, bool):
                raise ValueError(f"{path}: a spelling of '{code}' was read as {spelling}; "
                                 "quote it (YAML reads unquoted Yes/No/On/Off as true/false).")
            lookup[normalise(spelling)] = str(code)
    return lookup


def canonical_vocabulary(name: str) -> str:
    """Which code list of ``schemas/codes.yaml`` a shared vocabulary translates to."""
    with (VOCAB_DIR / f"{name}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["vocabulary"]


def translate(values: pd.Series, vocabulary: str | None,
              overrides: dict | None = None) -> pd.Series:
    """Translate source values to codes; values nobody knows become missing.

    ``overrides`` is a center's ``{source spelling: code}`` for this column, applied first.
    Missing input stays missing. Callers detect unknown values as
    ``values.notna() & result.isna()``.
    """
    lookup = dict(shared(vocabulary)) if vocabulary else {}
    for spelling, code in (overrides or {}).items():
        lookup[normalise(spelling)] = str(code)
    keys = values.map(normalise, na_action="ignore")
    return keys.map(lookup)
