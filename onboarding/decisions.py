"""A draft mapping as records: what the drafter decided for each file and column.

``onboarding.inference`` fills them from a profile; ``onboarding.writing`` turns them into YAML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harmonise.onboarding.profile import Profile, TableProfile


@dataclass
class ColumnDraft:
    """One column's line in the draft, and the comments around it."""

    source: str
    spec: dict | str                            # a column entry, or the shorthand "drop"
    note: str = ""                              # end-of-line comment (what was guessed from what)
    todos: list[str] = field(default_factory=list)
    target: str | None = None

    @property
    def is_todo(self) -> bool:
        return bool(self.todos)


@dataclass
class FileDraft:
    """One ``files:`` entry."""

    table: TableProfile
    profile: Profile
    role: str = "patients"
    columns: list[ColumnDraft] = field(default_factory=list)
    wide: dict[str, str] = field(default_factory=dict)
    wide_extract: str | None = None
    date_format: str = "%Y-%m-%d"
    decimal: str = "."
    date_note: str = ""
    constants: dict[str, object] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: ``role: assessments``: ``{outcome column: summary entry}`` and their TODOs
    summaries: dict[str, dict] = field(default_factory=dict)
    summary_todos: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.profile.path.name

    @property
    def label(self) -> str:
        return self.name + (f" [{self.table.sheet}]" if self.table.sheet is not None else "")

    @property
    def todo_count(self) -> int:
        return len(self.todos) + len(self.summary_todos) + sum(len(c.todos) for c in self.columns)


@dataclass
class Draft:
    """A drafted mapping: its YAML text and what the drafter decided, for the summary."""

    center: str
    text: str
    files: list[FileDraft]
    skipped: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def todo_count(self) -> int:
        return sum(f.todo_count for f in self.files)
