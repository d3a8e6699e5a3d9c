"""Header matching: which canonical column an export's header names, in several languages.

The spellings are data (``onboarding/synonyms/headers.yaml``); a header is matched
exactly, by containment, or by difflib for near misses.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache
from pathlib import Path

import yaml


HEADERS_FILE = Path(__file__).parent / "synonyms" / "headers.yaml"
SPLIT_REGIMEN = "split_regimen"
#: A header this close to a synonym (0-1) is matched; below CONFIDENT the draft says "check".
MATCH_THRESHOLD = 0.75
CONFIDENT = 0.9


# -- header matching -------------------------------------------------------------------------
@cache
def header_synonyms() -> dict[str, tuple[str, ...]]:
    """``{canonical column: header spellings}`` from ``onboarding/synonyms/headers.yaml``."""
    data = yaml.safe_load(HEADERS_FILE.read_text(encoding="utf-8"))
    return {str(target): tuple(str(s) for s in spellings) for target, spellings in data.items()}


def normalise_header(text: str) -> str:
    """``'Tx_Start'`` -> ``'tx start'``; ``'PatientID'`` -> ``'patient id'``; full-width folded."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(text))
    folded = unicodedata.normalize("NFKC", spaced).casefold()
    folded = re.sub(r"[_\-./()\[\]:：（）,，]+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def header_score(header: str, synonym: str) -> float:
    """How well a header matches one synonym, 0-1: 1 exact, ~0.8-0.95 contained, else difflib."""
    h, s = normalise_header(header), normalise_header(synonym)
    if not h or not s:
        return 0.0
    if h == s or h.replace(" ", "") == s.replace(" ", ""):
        return 1.0
    score = difflib.SequenceMatcher(None, h, s).ratio()
    if re.search(r"[^\x00-\x7f]", s):
        if len(s) >= 2 and s in h:
            score = max(score, 0.8 + 0.15 * len(s) / len(h))
    else:
        ht, st = h.split(), s.split()
        if any(ht[i:i + len(st)] == st for i in range(len(ht) - len(st) + 1)):
            score = max(score, 0.8 + 0.15 * len(s) / len(h))
    return score


def match_header(header: str, targets=None) -> list[tuple[float, str, str]]:
    """``[(score, canonical column, synonym)]`` at or above ``MATCH_THRESHOLD``, best first."""
    found = []
    for target, spellings in header_synonyms().items():
        if targets is not None and target not in targets:
            continue
        score, synonym = max((header_score(header, s), s) for s in spellings)
        if score >= MATCH_THRESHOLD:
            found.append((score, target, synonym))
    return sorted(found, key=lambda f: (-f[0], f[1]))

