"""Closed vocabularies of the canonical tables, read from ``codes.yaml`` beside this file.

A *vocabulary* is a named list of codes (``sex``, ``histology``, ``agent``...). Each code
has a ``label`` and optional attributes (``group`` for histology, ``class`` for agents).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CODES_FILE = Path(__file__).with_name("codes.yaml")


@cache
def all_vocabularies() -> dict[str, dict[str, dict]]:
    """Every vocabulary: ``{vocabulary: {code: {label: ..., other attributes}}}``."""
    with CODES_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def codes(vocabulary: str, **where: str) -> list[str]:
    """The codes of ``vocabulary``, optionally only those whose attributes match ``where``.

    >>> codes("agent", **{"class": "immunotherapy"})[:2]
    ['sintilimab', 'camrelizumab']
    """
    entries = all_vocabularies()[vocabulary]
    return [code for code, attrs in entries.items()
            if all(attrs.get(k) == v for k, v in where.items())]


def attribute(vocabulary: str, code: str, name: str):
    """One attribute of one code, e.g. ``attribute("histology", "UPS", "group")``."""
    return all_vocabularies()[vocabulary][code].get(name)


def label(vocabulary: str, code: str) -> str:
    """The words a clinician reads for ``code`` (falls back to the code itself)."""
    return all_vocabularies().get(vocabulary, {}).get(code, {}).get("label", code)
