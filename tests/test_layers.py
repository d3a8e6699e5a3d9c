"""Data flow one way: mappings -> schemas <- warehouse <- analysis; onboarding drafts mappings;
the pipeline runs one center through them; flows wires them all."""
from __future__ import annotations

import ast

import pytest

from harmonise.flows.settings import PROJECT_ROOT

STAGES = ("schemas", "mappings", "onboarding", "warehouse", "analysis", "pipeline", "flows", "demo")
#: What each stage may import from the project (besides itself).
ALLOWED = {
    "schemas": set(),                       # the contract depends on nothing
    "mappings": {"schemas"},                # source shape -> the contract
    "onboarding": {"mappings", "schemas"},  # profile -> draft -> check: reads the mapping language
    "warehouse": {"schemas"},               # stores what the contract describes
    "analysis": {"schemas"},                # reads the warehouse through SQL only
    "pipeline": {"mappings", "schemas", "warehouse"},  # one center: read, map, validate, load
    "demo": set(),                          # makes synthetic exports; knows no pipeline
    "flows": set(STAGES),                   # the wiring
}


def _stage(module: str) -> str:
    """``harmonise.schemas.codes`` -> ``schemas``; anything outside the namespace -> ''."""
    parts = module.split(".")
    return parts[1] if parts[0] == "harmonise" and len(parts) > 1 else ""


def _project_imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {_stage(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(_stage(node.module))
            if node.module == "harmonise":
                names |= {a.name for a in node.names}
    return names & set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_imports_only_what_it_may(stage):
    offenders = {}
    for path in (PROJECT_ROOT / stage).rglob("*.py"):
        bad = _project_imports(path) - ALLOWED[stage] - {stage}
        if bad:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    assert offenders == {}
