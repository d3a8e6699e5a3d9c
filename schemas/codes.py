"""Closed vocabularies of the canonical tables: the built-in ``codes.yaml`` beside this file,
plus the codes a study adds in its project's ``codes.yaml`` (``schemas.study_codes``).

A *vocabulary* is a named list of codes (``sex``, ``histology``, ``agent``...). Each code
has a ``label`` and optional attributes (``class`` and ``target`` for agents, ``ctcae`` for
adverse-event terms...). A ``CodeBook`` is one study's whole set: the built-in lists with
its own codes merged in; the module-level functions read the built-in book.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CODES_FILE = Path(__file__).with_name("codes.yaml")


@dataclass(frozen=True, eq=False)
class CodeBook:
    """Every code list of one study: ``{vocabulary: {code: {label: ..., attributes}}}``.

    ``added`` names the codes the study's own file adds (``(vocabulary, code)``); ``sha256``
    identifies the study's file ("" for the built-in lists alone). Two books with the same
    ``sha256`` are the same book (so a schema built from a book can be cached by it).
    """

    entries: dict[str, dict[str, dict]]
    added: frozenset[tuple[str, str]] = frozenset()
    sha256: str = ""
    source: Path | None = None
    #: the study file's line of each added code (for messages)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __eq__(self, other) -> bool:
        return isinstance(other, CodeBook) and other.sha256 == self.sha256

    def vocabularies(self) -> dict[str, dict[str, dict]]:
        return self.entries

    def codes(self, vocabulary: str, **where: str) -> list[str]:
        """The codes of ``vocabulary``, optionally only those whose attributes match ``where``."""
        return [code for code, attrs in self.entries.get(vocabulary, {}).items()
                if all(attrs.get(k) == v for k, v in where.items())]

    def has(self, vocabulary: str, code: str) -> bool:
        return code in self.entries.get(vocabulary, {})

    def attribute(self, vocabulary: str, code: str, name: str):
        """One attribute of one code (None for a code the book does not have)."""
        return self.entries.get(vocabulary, {}).get(code, {}).get(name)

    def label(self, vocabulary: str, code: str) -> str:
        """The words a clinician reads for ``code`` (falls back to the code itself)."""
        return self.entries.get(vocabulary, {}).get(code, {}).get("label", code)

    def is_study_code(self, vocabulary: str, code: str) -> bool:
        return (vocabulary, code) in self.added


@cache
def builtin() -> CodeBook:
    """The code lists harmonise ships (``schemas/codes.yaml``)."""
    with CODES_FILE.open(encoding="utf-8") as fh:
        return CodeBook(entries=yaml.safe_load(fh))


def all_vocabularies() -> dict[str, dict[str, dict]]:
    """Every built-in vocabulary: ``{vocabulary: {code: {label: ..., other attributes}}}``."""
    return builtin().entries


def codes(vocabulary: str, **where: str) -> list[str]:
    """The built-in codes of ``vocabulary``, optionally only those whose attributes match ``where``.

    >>> codes("agent", **{"class": "immunotherapy"})[:2]
    ['sintilimab', 'camrelizumab']
    """
    return builtin().codes(vocabulary, **where)


def attribute(vocabulary: str, code: str, name: str):
    """One attribute of one built-in code, e.g. ``attribute("agent", "anlotinib", "class")``."""
    return builtin().attribute(vocabulary, code, name)


def label(vocabulary: str, code: str) -> str:
    """The words a clinician reads for a built-in ``code`` (falls back to the code itself)."""
    return builtin().label(vocabulary, code)


def merged(additions: dict[str, dict[str, dict]], source: Path | None, raw: bytes,
           lines: dict[tuple[str, str], int] | None = None) -> CodeBook:
    """The built-in book with a study's ``additions`` appended to each vocabulary."""
    base = builtin().entries
    entries = {v: {**codes_, **additions.get(v, {})} for v, codes_ in base.items()}
    added = frozenset((v, c) for v, cs in additions.items() for c in cs)
    return CodeBook(entries=entries, added=added, sha256=hashlib.sha256(raw).hexdigest(),
                    source=source, lines=lines or {})
