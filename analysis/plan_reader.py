"""Reading plan.yaml's parsed YAML with the key path in hand: every accessor names the
dotted key (``comparisons.asps_vs_non_asps.groups``) of a problem, so a
:class:`analysis.plan.PlanError` can tell the person who must fix it where to look.
Conditions (``when`` / ``where``) are parsed here: values, lists or ``{min, max}``; nothing
is evaluated.
"""
from __future__ import annotations

import re
from pathlib import Path

from harmonise.analysis.plan import Condition, PlanError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class At:
    """A mapping of the YAML at a dotted key, with checked accessors."""

    def __init__(self, path: Path, key: str, value):
        self.path, self.key, self.value = path, key, value

    def fail(self, problem: str, hint: str = "", key: str | None = None):
        raise PlanError(self.path, self.key if key is None else key, problem, hint)

    def child(self, name) -> At:
        key = f"{self.key}.{name}" if self.key else str(name)
        return At(self.path, key, self.value[name])

    def mapping(self, allowed=(), required=()) -> dict:
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping of keys, got {kind(self.value)}",
                      "write `key: value` lines indented under this key")
        for name in self.value:
            if allowed and name not in allowed:
                self.fail(f"unknown key {name!r}", f"use one of: {', '.join(allowed)}")
        for name in required:
            if name not in self.value:
                self.fail(f"missing key {name!r}", "see docs/analysis-plan.md for its meaning")
        return self.value

    def items(self, **kw):
        return [(name, self.child(name)) for name in self.mapping(**kw)]

    def text(self, name: str, default: str | None = None) -> str:
        value = (self.value or {}).get(name, default)
        if not isinstance(value, str) or not value.strip():
            self.fail("expected a non-empty text", "write a few words", key=self._sub(name))
        return value

    def list(self) -> list:
        if not isinstance(self.value, list) or not self.value:
            self.fail(f"expected a non-empty list, got {kind(self.value)}",
                      "write [a, b] or one `- item` line each")
        return self.value

    def _sub(self, name) -> str:
        return f"{self.key}.{name}" if self.key else str(name)


def kind(value) -> str:
    """What a YAML value is, in words."""
    return {dict: "a mapping", list: "a list", str: "a text", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def code_of(value) -> str | bool:
    """A code as the warehouse holds it: text, or true/false for yes/no groupings."""
    return value if isinstance(value, (bool, str)) else str(value)


def name(at: At, value) -> str:
    """``value`` if it is a usable name (a column, endpoint, section, file part)."""
    if not isinstance(value, str) or not NAME.match(value):
        at.fail(f"{value!r} is not a usable name",
                "use lower-case letters, digits and _ , starting with a letter")
    return value


def conditions(at: At, known: tuple[str, ...]) -> tuple[Condition, ...]:
    """The conditions of a ``when`` / ``where`` mapping, on the ``known`` columns."""
    out = []
    for column, test in at.items():
        if column not in known:
            test.fail(f"unknown column {column!r}",
                      "use a column of v_patient or a grouping declared above it under "
                      f"`derived` ({', '.join(known)})")
        if isinstance(test.value, dict):
            rng = test.mapping(allowed=("min", "max"))
            bounds = [rng.get("min"), rng.get("max")]
            if all(b is None for b in bounds) or not all(
                    b is None or isinstance(b, (int, float)) for b in bounds):
                test.fail("a range needs a number for `min` and/or `max`", "e.g. {min: 3}")
            out.append(Condition(column, low=bounds[0], high=bounds[1]))
        else:
            values = test.value if isinstance(test.value, list) else [test.value]
            if not values or any(v is None or isinstance(v, (dict, list)) for v in values):
                test.fail("expected a value, a list of values or {min, max}",
                          "e.g. histology: [ASPS] or ecog: {min: 1}")
            out.append(Condition(column, values=tuple(code_of(v) if not isinstance(
                v, (int, float)) or isinstance(v, bool) else v for v in values)))
    return tuple(out)
