"""Errors that stop one center's load, worded for the data manager who must fix them."""
from __future__ import annotations

from harmonise.schemas.text import MAX_QUOTED, cut


class CenterError(Exception):
    """A structural problem with one center's export or mapping; the other centers still load.

    Every message names the center, and where known the file, line, column and a hint:
    what to do next, in the words of someone who edits exports and YAML, not Python.
    """

    def __init__(self, center: str, problem: str, *, file: str | None = None,
                 column: str | None = None, line: int | None = None, hint: str | None = None):
        self.center, self.problem, self.file = center, cut(problem), cut(file, MAX_QUOTED)
        self.column, self.line, self.hint = cut(column, MAX_QUOTED), line, cut(hint)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [f"center {self.center}"]
        if self.file:
            where.append(f"file {self.file}" + (f", line {self.line}" if self.line else ""))
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"[{'; '.join(where)}] {self.problem}"
        return cut(f"{text}\n  Hint: {self.hint}" if self.hint else text)


class MappingError(CenterError):
    """The center's mapping YAML itself is wrong (unknown key, bad value, unsafe YAML)."""


class StructuralProblems(CenterError):
    """Every structural problem of a center's export at once (each a ``CenterError``)."""

    def __init__(self, problems: list[CenterError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.center, first.problem, file=first.file, column=first.column,
                         line=first.line, hint=first.hint)

    @property
    def message(self) -> str:
        if len(getattr(self, "problems", [])) <= 1:
            return super().message
        return "\n".join(f"{n}. {p.message}" for n, p in enumerate(self.problems, 1))
