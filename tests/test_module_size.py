"""Each module holds one concept and stays small: a stage module over MAX_LINES is a failure.

A module that grows past the limit is split by concept (as mappings/spec.py became model,
document, columns and entries), not trimmed by squeezing lines. A deliberate exception is
listed in EXCEPTIONS with its reason, so it is a decision someone can revisit.
"""
from __future__ import annotations

from harmonise.flows.settings import PROJECT_ROOT
from tests.test_layers import STAGES

#: "Under about 300 lines" (issue 9), with a little room so a small fix does not force a split.
MAX_LINES = 320

#: ``path: why it may be longer``. Each entry names the issue that should remove it.
EXCEPTIONS: dict[str, str] = {}


def _stage_modules():
    for stage in STAGES:
        yield from sorted((PROJECT_ROOT / stage).rglob("*.py"))


def _lines(path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_every_stage_module_stays_under_the_size_limit_unless_listed_with_a_reason():
    too_long = {str(p.relative_to(PROJECT_ROOT)): _lines(p) for p in _stage_modules()
                if _lines(p) > MAX_LINES and str(p.relative_to(PROJECT_ROOT)) not in EXCEPTIONS}
    assert too_long == {}, f"split these by concept (or list them in EXCEPTIONS with a reason): {too_long}"


def test_each_listed_exception_still_exists_and_is_still_over_the_limit():
    for name, why in EXCEPTIONS.items():
        path = PROJECT_ROOT / name
        assert path.is_file(), f"{name} is gone: remove it from EXCEPTIONS"
        assert _lines(path) > MAX_LINES, f"{name} is back under {MAX_LINES} lines: remove it from EXCEPTIONS"
        assert "issue" in why, "an exception names the issue that should remove it"
