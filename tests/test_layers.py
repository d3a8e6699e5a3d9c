"""Data flow one way: mappings -> schemas <- warehouse <- analysis; flows wires them all."""
from __future__ import annotations

import ast

import pytest

from flows.settings import PROJECT_ROOT

STAGES = ("schemas", "mappings", "warehouse", "analysis", "flows", "demo")
#: What each stage may import from the project (besides itself).
ALLOWED = {
    "schemas": set(),                       # the contract depends on nothing
    "mappings": {"schemas"},                # source shape -> the contract
    "warehouse": {"schemas"},               # stores what the contract describes
    "analysis": {"schemas"},                # reads the warehouse through SQL only
    "demo": set(),                          # makes synthetic exports; knows no pipeline
    "flows": set(STAGES),                   # the wiring
}


def _project_imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_imports_only_what_it_may(stage):
    offenders = {}
    for path in (PROJECT_ROOT / stage).rglob("*.py"):
        bad = _project_imports(path) - ALLOWED[stage] - {stage}
        if bad:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    assert offenders == {}
