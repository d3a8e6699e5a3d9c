"""Read and check one center's mapping file (``mappings/<center>.yaml``).

The mapping language is small and closed (``mappings.model``); every key is documented in
``docs/mapping-language.md``. A mapping file is data: it is parsed with PyYAML's safe
loader (no tags, no code) and may not use anchors or aliases. Any mistake is reported
with the file, the line, the key and what would be valid ("did you mean ...?").
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from harmonise.mappings.document import MAX_MAPPING_BYTES
from harmonise.mappings.entries import MappingReader
from harmonise.mappings.errors import MappingError
from harmonise.mappings.model import ROLE_TABLES, UNITS, CenterMapping, ColumnSpec, FileSpec, SkipRule
from harmonise.mappings.vocabulary import StudyVocabularyError, canonical_vocabulary, normalise, study_spellings
from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.schemas.quarantine import FixIn
from harmonise.schemas.study_codes import StudyCodesError, study_book

#: A center id: lower-case letters, digits and _, starting with a letter (it names files,
#: folders and the pseudonyms' salt, and is checked on every row).
CENTER_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")

#: The typed model (``mappings.model``) and the reader's limit are importable from here,
#: where the mapping is read.
__all__ = ["CENTER_ID", "MAX_MAPPING_BYTES", "ROLE_TABLES", "UNITS", "CenterMapping", "ColumnSpec",
           "FileSpec", "SkipRule", "list_centers", "load_mapping", "mapping_path",
           "with_study_spellings"]


def mapping_path(center: str, mappings_dir: Path) -> Path:
    return Path(mappings_dir) / f"{center}.yaml"


def list_centers(mappings_dir: Path) -> list[str]:
    """Centers with a mapping file, alphabetically (vocabularies are not centers)."""
    return sorted(p.stem for p in Path(mappings_dir).glob("*.yaml"))


def load_mapping(center: str, mappings_dir: Path, vocab_dir: Path | None = None,
                 codes_file: Path | None = None) -> CenterMapping:
    """Read and check ``<mappings_dir>/<center>.yaml``; raise ``MappingError`` on any mistake.

    ``vocab_dir`` is the study's ``vocab/``: its spellings join every column translated with
    that vocabulary (below the column's own ``values:``, which still win). ``codes_file`` is
    the study's ``codes.yaml``: the codes it adds join the code lists (``schemas.study_codes``).
    """
    path = mapping_path(center, mappings_dir)
    if not CENTER_ID.fullmatch(center):
        suggestion = re.sub(r"[^a-z0-9_]", "_", center.lower()).strip("_") or "site_a"
        raise MappingError(center, f"'{center}' is not a valid center id (file {path.name})",
                           file=str(path), hint=f"Center ids use lower-case letters, digits and _ "
                           f"and start with a letter: rename the file to {suggestion}.yaml and write "
                           f"`center: {suggestion}` in it (and name the inbox folder {suggestion}/).")
    if not path.is_file():
        raise MappingError(center, "no mapping file for this center",
                           file=str(path), hint=f"Create {path.name} (see docs/adding-a-center.md); "
                           f"centers with a mapping: {', '.join(list_centers(mappings_dir)) or 'none'}.")
    try:
        book = study_book(codes_file)
    except StudyCodesError as err:
        raise MappingError(center, err.problem, file=str(err.path), line=err.line, hint=err.hint,
                           fix=(FixIn.PROJECT_CODES,)) from None
    raw = path.read_bytes()
    reader = MappingReader(center, path, raw, book)
    return with_study_spellings(replace(reader.mapping(), codes=book), vocab_dir)


def with_study_spellings(mapping: CenterMapping, vocab_dir: Path | None) -> CenterMapping:
    """``mapping`` with the study's added spellings, and its own codes as spellings of
    themselves, in each vocabulary column's ``values``."""
    book = mapping.codes
    try:
        additions, digest = study_spellings(vocab_dir, book)
    except StudyVocabularyError as err:
        raise MappingError(mapping.center, str(err), fix=err.fix) from None
    for vocabulary, code in sorted(book.added):  # a study's code matches itself, like a built-in one
        for name in available_vocabularies():
            if canonical_vocabulary(name) == vocabulary:
                additions.setdefault(name, {}).setdefault(normalise(code), code)
    if not additions:
        return mapping

    def column(spec: ColumnSpec) -> ColumnSpec:
        extra = additions.get(spec.vocab or "")
        return replace(spec, values={**extra, **(spec.values or {})}) if extra else spec
    files = tuple(replace(f, columns={k: column(c) for k, c in f.columns.items()}) for f in mapping.files)
    return replace(mapping, files=files, vocab_sha256=digest + book.sha256)


