"""Keyed pseudonyms for patients: HMAC-SHA256 of the center and the source identifier.

The key never lives in the repository. It is read, in order, from

1. ``HARMONISE_PSEUDONYM_KEY`` (the key itself, at least 32 characters), or
2. ``HARMONISE_PSEUDONYM_KEY_FILE`` (a path to a file holding it, kept outside the repo).

``make demo`` passes ``demo=True``, which uses the public ``DEMO_KEY`` and says so loudly:
pseudonyms made with it protect nothing and must never be used for real data.
The same key and source identifier always give the same pseudonym, so re-runs and
files of one center (patients, adverse events) link without ever storing the MRN.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from pathlib import Path

import pandas as pd

KEY_ENV = "HARMONISE_PSEUDONYM_KEY"
KEY_FILE_ENV = "HARMONISE_PSEUDONYM_KEY_FILE"
DEMO_KEY = "DEMO-KEY-NOT-SECRET--harmonise-synthetic-data-only"
MIN_KEY_LENGTH = 32
PSEUDONYM_HEX_CHARS = 24  # 96 bits: no collision in practice even at millions of patients


class PseudonymKeyError(Exception):
    """No usable pseudonymisation key (message says how to provide one)."""


def load_key(demo: bool = False, key_env: str | None = None, key_file: Path | None = None) -> bytes:
    """The pseudonymisation key, from where the project says it lives, else the environment.

    ``key_env`` / ``key_file`` come from the project's ``harmonise.yaml`` (``pseudonym:``);
    without them ``HARMONISE_PSEUDONYM_KEY``, then ``HARMONISE_PSEUDONYM_KEY_FILE``, then the
    public demo key if ``demo``.
    """
    if key_env:
        key = os.environ.get(key_env, "")
        if not key:
            raise PseudonymKeyError(f"harmonise.yaml says the pseudonymisation key is in the environment "
                                    f"variable {key_env}, which is not set. Set it (at least "
                                    f"{MIN_KEY_LENGTH} characters, e.g. `openssl rand -hex 32`) before the run.")
    elif key_file:
        key = _read_key_file(Path(key_file), "pseudonym.key_file in harmonise.yaml")
    elif value := os.environ.get(KEY_ENV):
        key = value
    elif path := os.environ.get(KEY_FILE_ENV):
        key = _read_key_file(Path(path), KEY_FILE_ENV)
    elif demo:
        return DEMO_KEY.encode()
    else:
        raise PseudonymKeyError(
            "No pseudonymisation key. Set HARMONISE_PSEUDONYM_KEY to a secret of at least "
            f"{MIN_KEY_LENGTH} characters, or HARMONISE_PSEUDONYM_KEY_FILE to a file outside the "
            "repository holding it (e.g. `openssl rand -hex 32 > /etc/harmonise/key`), or say where "
            "it lives in harmonise.yaml (pseudonym: key_env or key_file). For the synthetic demo "
            "only, add --demo (harmonise run, ingest or check).")
    if len(key) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(f"The pseudonymisation key is {len(key)} characters long; use at least "
                        f"{MIN_KEY_LENGTH} (e.g. `openssl rand -hex 32`).")
    return key.encode()


def _read_key_file(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PseudonymKeyError(f"Cannot read the pseudonymisation key file {path} ({exc.strerror}). "
                                f"Check {source}.") from exc


def key_file_warning() -> str | None:
    """What is wrong with the key file's permissions, if anything (others may read it)."""
    path = os.environ.get(KEY_FILE_ENV)
    if not path or os.environ.get(KEY_ENV):
        return None
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (f"the pseudonymisation key file {path} has mode {mode:04o}: other users can read "
                f"it{' and change it' if mode & 0o022 else ''}. Anyone with the key can re-identify "
                f"patients from their MRNs. Run `chmod 600 {path}`.")
    return None


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible tag of the key, logged so a key change is visible in load_log."""
    return hashlib.sha256(b"fingerprint:" + key).hexdigest()[:12]


def pseudonymise(center_id: str, identifiers: pd.Series, key: bytes) -> pd.Series:
    """Pseudonyms of ``identifiers`` (e.g. MRNs) for one center; empty stays empty.

    Identifiers are NFKC-normalised and stripped first, so ``'HN0001 '`` and the
    full-width ``'ＨＮ０００１'`` give the same pseudonym.
    """
    return Pseudonyms(center_id, key).of(identifiers)


class Pseudonyms:
    """One center's pseudonymiser: each identifier's pseudonym is made once, for all the
    center's files (the adverse-event file names the patients of the patients file)."""

    def __init__(self, center_id: str, key: bytes):
        # HMAC(key, center + US + identifier): the keyed state after the center, copied per value
        self._mac = hmac.new(key, f"{center_id}\x1f".encode(), hashlib.sha256)
        self._made: dict = {}

    def of(self, identifiers: pd.Series) -> pd.Series:
        """The pseudonyms of ``identifiers``; missing or blank stays missing."""
        for value in pd.unique(identifiers.dropna()):
            if value not in self._made:
                self._made[value] = self._one(value)
        keys = identifiers.map(self._made)
        return keys.astype(object).where(keys.notna(), None)

    def _one(self, value) -> str | None:
        if not isinstance(value, str) and pd.isna(value):
            return None
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if not text:
            return None
        mac = self._mac.copy()
        mac.update(text.encode())
        return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]
