"""Errors that stop one center's load, worded for the data manager who must fix them."""
from __future__ import annotations

from harmonise.schemas.quarantine import FixIn
from harmonise.schemas.text import MAX_QUOTED, cut


class CenterError(Exception):
    """A structural problem with one center's export or mapping; the other centers still load.

    Every message names the center, and where known the file, line, column and a hint:
    what to do next, in the words of someone who edits exports and YAML, not Python.
    """

    #: where the fix of this kind of error belongs unless the error says otherwise
    FIX_IN: tuple[FixIn, ...] = ()

    def __init__(self, center: str, problem: str, *, file: str | None = None,
                 column: str | None = None, line: int | None = None, hint: str | None = None,
                 fix: tuple[FixIn, ...] | None = None):
        self.center, self.problem, self.file = center, cut(problem), cut(file, MAX_QUOTED)
        self.column, self.line, self.hint = cut(column, MAX_QUOTED), line, cut(hint)
        #: where the fix belongs (typed; rendered in ``message``)
        self.fix = tuple(fix) if fix is not None else self.FIX_IN
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [f"center {self.center}"]
        if self.file:
            where.append(f"file {self.file}" + (f", line {self.line}" if self.line else ""))
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"[{'; '.join(where)}] {self.problem}"
        places = [p.words for p in self.fix]
        if places:
            listed = places[0] if len(places) == 1 else f"{', '.join(places[:-1])} or {places[-1]}"
            text += f"\n  The fix belongs in {listed}."
        return cut(f"{text}\n  Hint: {self.hint}" if self.hint else text)


class MappingError(CenterError):
    """The center's mapping YAML itself is wrong (unknown key, bad value, unsafe YAML)."""

    FIX_IN = (FixIn.MAPPING,)


class StructuralProblems(CenterError):
    """Every structural problem of a center's export at once (each a ``CenterError``)."""

    def __init__(self, problems: list[CenterError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.center, first.problem, file=first.file, column=first.column,
                         line=first.line, hint=first.hint, fix=first.fix)

    @property
    def message(self) -> str:
        if len(getattr(self, "problems", [])) <= 1:
            return super().message
        return "\n".join(f"{n}. {p.message}" for n, p in enumerate(self.problems, 1))
