"""Quarantine history: each run's findings kept with its run id, and what changed since the last run.

A *finding* is "N export rows of center C failed rule R in column X of table T". After a
center is loaded (or found unchanged) its findings are appended to ``quarantine_history``
and the run to ``quality_run``; nothing is replaced. ``v_quality_change``
(warehouse/sql/27_v_quality_change.sql) compares each center's last two recorded runs:
new, resolved, persisting. History rows hold names and counts only, never export values.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

CHANGES = ("new", "persisting", "resolved")


@dataclass(frozen=True)
class Finding:
    """One row of ``v_quality_change``."""

    change: str                      # new | persisting | resolved
    table_name: str
    column_name: str | None
    source_column: str | None
    rule: str
    rows_now: int
    rows_before: int
    first_seen_at: dt.datetime | None

    @property
    def column(self) -> str:
        """The export's header, with the canonical name: ``Age (age_years)``."""
        if self.source_column and self.column_name and self.source_column != self.column_name:
            return f"{self.source_column} ({self.column_name})"
        return self.source_column or self.column_name or ""


@dataclass(frozen=True)
class CenterQuality:
    """A center's findings in its last recorded run compared with the run before."""

    center_id: str
    run_id: str
    previous_run_id: str | None
    findings: list[Finding] = field(default_factory=list)

    def count(self, change: str) -> int:
        return sum(f.change == change for f in self.findings)

    def rows(self, change: str) -> int:
        """Export rows behind the findings of one kind (``resolved``: rows before)."""
        return sum(f.rows_before if change == "resolved" else f.rows_now
                   for f in self.findings if f.change == change)


def record(con: duckdb.DuckDBPyConnection, run_id: str, center_id: str, status: str) -> None:
    """Append the center's current quarantine, counted by finding, to the history.

    Runs inside the caller's transaction (the one that loads the center or logs its skip),
    so a center's rows, its audit record and its findings are stored together or not at all.
    """
    now = dt.datetime.now()
    con.execute("DELETE FROM quarantine_history WHERE run_id = ? AND center_id = ?", [run_id, center_id])
    con.execute("DELETE FROM quality_run WHERE run_id = ? AND center_id = ?", [run_id, center_id])
    con.execute("""
        INSERT INTO quarantine_history
        SELECT ?, center_id, table_name, column_name, source_column, coalesce(rule, check_name),
               count(*), count(DISTINCT (source_file, source_row)), ?
        FROM quarantine WHERE center_id = ? GROUP BY ALL""", [run_id, now, center_id])
    con.execute("INSERT INTO quality_run VALUES (?, ?, ?, ?)", [run_id, center_id, status, now])


def changes(con: duckdb.DuckDBPyConnection) -> list[CenterQuality]:
    """Every center with a recorded run, its findings new / persisting / resolved since the last."""
    last = con.execute("""
        SELECT center_id, arg_max(run_id, (recorded_at, run_id)) FROM quality_run
        GROUP BY center_id ORDER BY center_id""").fetchall()
    rows = con.execute("""
        SELECT center_id, previous_run_id, change, table_name, column_name, source_column, rule,
               rows_now, rows_before, first_seen_at FROM v_quality_change""").fetchall()
    out = []
    for center_id, run_id in last:
        mine = [r for r in rows if r[0] == center_id]
        previous = con.execute("""
            SELECT run_id FROM quality_run WHERE center_id = ? AND run_id <> ?
            ORDER BY recorded_at DESC, run_id DESC LIMIT 1""", [center_id, run_id]).fetchall()
        out.append(CenterQuality(center_id, run_id, previous[0][0] if previous else None,
                                 [Finding(*r[2:]) for r in mine]))
    return out


def markdown(centers: list[CenterQuality]) -> str:
    """The changes as Markdown (the Prefect artifact ``harmonise-data-quality``)."""
    lines = ["# Data quality since the last run", ""]
    if not centers:
        return "\n".join(lines + ["No center has recorded quarantine findings yet."])
    lines += ["| center | new | persisting | resolved | rows quarantined now |",
              "|---|---:|---:|---:|---:|"]
    for c in centers:
        lines.append(f"| {c.center_id} | {c.count('new')} | {c.count('persisting')} | "
                     f"{c.count('resolved')} | {c.rows('new') + c.rows('persisting')} |")
    for c in centers:
        if not c.findings:
            continue
        since = f"since run {c.previous_run_id}" if c.previous_run_id else "first recorded run"
        lines += ["", f"## {c.center_id} (run {c.run_id}, {since})", "",
                  "| change | table | column | rule | rows now | rows before |",
                  "|---|---|---|---|---:|---:|"]
        for f in c.findings:
            lines.append(f"| {f.change} | {f.table_name} | {_md(f.column)} | {f.rule} | "
                         f"{f.rows_now} | {f.rows_before} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """A column header as a Markdown table cell (headers come from exports: escape the pipe)."""
    return text.replace("|", "\\|").replace("\n", " ")
