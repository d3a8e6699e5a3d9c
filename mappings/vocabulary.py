"""Shared vocabularies: source spellings -> canonical codes.

A vocabulary file in ``mappings/vocab/NAME.yaml`` lists, for each canonical code of
``schemas/codes.yaml``, the spellings hospitals use for it. A study adds spellings in
its project's ``vocab/NAME.yaml`` (same shape; it may add spellings, never change what a
spelling or a code means). A center may add or override spellings for one column with
``values:`` in its mapping file; those win.

Matching is forgiving about form, strict about content: case, surrounding spaces,
repeated spaces and full-width characters are ignored; anything else must be listed.
"""
from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from harmonise.schemas.codes import CodeBook, all_vocabularies, builtin
from harmonise.schemas.quarantine import FixIn
from harmonise.schemas.study_codes import snippet

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


@cache
def canonical_vocabulary(name: str) -> str:
    """Which code list of ``schemas/codes.yaml`` a shared vocabulary translates to (read once
    per process, like :func:`shared`: every mapping load asks it for every vocabulary)."""
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
    table = {value: lookup.get(normalise(value)) for value in pd.unique(values.dropna())}
    return values.map(table)


class StudyVocabularyError(ValueError):
    """A study's ``vocab/`` file is not usable; the message names the file and what to do."""

    def __init__(self, message: str, fix: tuple[FixIn, ...] = (FixIn.PROJECT_VOCAB,)):
        super().__init__(message)
        self.fix = fix


def study_spellings(vocab_dir: Path | None, book: CodeBook | None = None
                    ) -> tuple[dict[str, dict[str, str]], str]:
    """``({vocabulary: {spelling: code}}, sha256)`` of the spellings a study adds in ``vocab_dir``.

    Each ``vocab_dir/NAME.yaml`` names a built-in vocabulary and lists, under ``codes:``,
    extra spellings of its existing codes (built-in, or added by the study's codes.yaml:
    ``book``). A spelling the built-in vocabulary already gives another code, or a code the
    code list does not have, is refused: a study adds spellings, it never changes what a
    canonical code or a known spelling means.
    """
    additions: dict[str, dict[str, str]] = {}
    digest = hashlib.sha256()
    files = sorted(Path(vocab_dir).glob("*.yaml")) if vocab_dir and Path(vocab_dir).is_dir() else []
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        additions[path.stem] = _study_file(path, book or builtin())
    return additions, digest.hexdigest() if files else ""


def _study_file(path: Path, book: CodeBook) -> dict[str, str]:
    def fail(message: str, hint: str, fix: tuple[FixIn, ...] = (FixIn.PROJECT_VOCAB,)) -> None:
        raise StudyVocabularyError(f"{path}: {message}. {hint}", fix)
    name = path.stem
    if name not in available():
        close = difflib.get_close_matches(name, available(), n=1)
        fail(f"'{name}' is not a built-in vocabulary",
             (f"Did you mean {close[0]}.yaml? " if close else "") + f"Name the file after one of: {', '.join(available())}.")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        fail(f"not valid UTF-8 YAML ({exc})", "Check the indentation and quoting.")
    if not isinstance(spec, dict) or not isinstance(spec.get("codes"), dict) or set(spec) - {"vocabulary", "codes"}:
        fail("the file must hold `codes:` (and optionally `vocabulary:`)",
             f"E.g. `codes: {{female: [Vrouw]}}` adds a spelling of 'female' (see mappings/vocab/{name}.yaml).")
    if spec.get("vocabulary", canonical_vocabulary(name)) != canonical_vocabulary(name):
        fail(f"`vocabulary: {spec['vocabulary']}` differs from the built-in {name}.yaml "
             f"(`vocabulary: {canonical_vocabulary(name)}`)", "Drop the line or correct it.")
    known = shared(name)
    vocabulary = canonical_vocabulary(name)
    codes = set(known.values()) | {c for v, c in book.added if v == vocabulary}
    added: dict[str, str] = {}
    for code, spellings in spec["codes"].items():
        if str(code) not in codes:
            fail(f"'{code}' is not a code of the vocabulary {name}",
                 f"A spelling names an existing code ({', '.join(sorted(codes))}). If '{code}' is a "
                 f"code this study needs, the fix belongs in the project's codes: add "
                 f"{snippet(vocabulary, str(code))}.", (FixIn.PROJECT_CODES, FixIn.PROJECT_VOCAB))
        for spelling in spellings if isinstance(spellings, list) else [spellings]:
            if isinstance(spelling, bool) or spelling is None:
                fail(f"a spelling of '{code}' was read as {spelling}",
                     "Quote it (YAML reads unquoted Yes/No/On/Off as true/false).")
            key = normalise(spelling)
            if known.get(key, code) != code or added.get(key, code) != code:
                was = known.get(key) or added[key]
                fail(f"'{spelling}' already means '{was}' in the vocabulary {name}, not '{code}'",
                     "A study may add spellings, never change what one means: drop it here, or map "
                     "it for one center with `values:` in that center's mapping.")
            added[key] = str(code)
    return added
