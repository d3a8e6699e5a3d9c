"""The onboarding stage's one error: an export that cannot be profiled or drafted."""
from __future__ import annotations

from pathlib import Path




class OnboardingError(Exception):
    """An export that cannot be profiled, worded for the data manager (what, where, what to do)."""

    def __init__(self, problem: str, *, file: str | Path | None = None, hint: str | None = None):
        self.problem, self.file, self.hint = problem, None if file is None else str(file), hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"[file {self.file}] {self.problem}" if self.file else self.problem
        return f"{text}\n  Hint: {self.hint}" if self.hint else text

