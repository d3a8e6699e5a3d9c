"""The identity of a load: a content address over everything that shapes a center's rows.

Same export files, mapping, shared vocabularies and code lists, harmonise version, key and
cut-off give the same ``load_id``; so an unchanged center is recognised from hashes alone,
before anything is read, mapped or validated.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from functools import lru_cache
from pathlib import Path

from harmonise.mappings.engine import export_path
from harmonise.mappings.pseudonym import key_fingerprint
from harmonise.mappings.readers import sha256_of
from harmonise.mappings.spec import CenterMapping
from harmonise.mappings.vocabulary import VOCAB_DIR
from harmonise.schemas.codes import CODES_FILE
from harmonise.warehouse.loader import load_id_for


def harmonise_version() -> str:
    """The installed harmonise version (``unknown`` in a bare checkout)."""
    try:
        return importlib.metadata.version("harmonise")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def rules_fingerprint() -> str:
    """sha256 of everything besides a center's own mapping that shapes its rows.

    The shared vocabularies, the code lists and the harmonise version: change any of them
    and every center reloads on the next run. The files are read once per change (their
    size and modification time say when), not once per center.
    """
    paths = sorted((*VOCAB_DIR.glob("*.yaml"), CODES_FILE))
    return _fingerprint(tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in paths))


@lru_cache(maxsize=4)
def _fingerprint(files: tuple[tuple[Path, int, int], ...]) -> str:
    digest = hashlib.sha256(harmonise_version().encode())
    for path, _, _ in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def mapping_fingerprint(mapping: CenterMapping) -> str:
    """The mapping file's sha256 combined with the study's vocab/ and the shared rules'."""
    return hashlib.sha256((mapping.sha256 + mapping.vocab_sha256 + rules_fingerprint()).encode()).hexdigest()


def export_hashes(mapping: CenterMapping, inbox: Path, allow_symlinks: bool = False
                  ) -> dict[str, str] | None:
    """sha256 of each export file of the center, or None if one is missing."""
    hashes = {}
    for spec in mapping.files:
        path = export_path(mapping.center, inbox, spec.name, allow_symlinks)
        if not path.is_file():
            return None
        hashes[spec.name] = sha256_of(path)
    return hashes


def planned_load_id(mapping: CenterMapping, cutoff, key: bytes, hashes: dict[str, str]) -> str:
    """The load id this center's current export files (``hashes``) would get."""
    return load_id_for(mapping.center, mapping_fingerprint(mapping), key_fingerprint(key),
                       cutoff, hashes)
