"""What a person sees while a run goes, and the summary table at the end.

On a terminal: a rich.progress bar (centers done/total, the current center, elapsed time,
ETA, rows per second) with one line per finished center above it. Anywhere else (cron, CI,
a deployment run by ``harmonise serve``): plain timestamped lines, never wrapped. Failures
go to stderr either way. The flow reports to whichever display is current
(``current()``); the CLI picks one with ``shown(...)``.
"""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from harmonise.flows.output import QUIET, console, error, info, verbosity
from harmonise.schemas.text import cut

STATUS_STYLE = {"loaded": "green", "failed": "bold red", "skipped": "yellow"}


def describe(result) -> str:
    """One line (rich markup) for a finished center; export text in messages is escaped."""
    style = STATUS_STYLE.get(result.status, "")
    took = f" in {result.seconds:.1f} s" if getattr(result, "seconds", None) is not None else ""
    if result.status == "loaded":
        return (f"[{style}]✓[/] {result.center}: {result.patients_loaded} patients loaded, "
                f"{result.rows_quarantined} rows quarantined ({result.rows_read} rows read){took}")
    if result.status == "skipped":
        return (f"[{style}]=[/] {result.center}: {escape(cut(result.message) or 'skipped')} "
                f"({result.patients_loaded} patients in the warehouse)")
    return f"[{style}]✗ {result.center} failed[/]: {escape(cut(result.message) or '')}"


class PlainLines:
    """Timestamped lines, one per event: for cron mails, CI logs and deployments."""

    def __init__(self):
        self.started = time.monotonic()
        self.rows = 0

    def _stamp(self) -> str:
        return f"{dt.datetime.now():%Y-%m-%d %H:%M:%S}"

    def start(self, centers: list[str]) -> None:
        self.started, self.rows = time.monotonic(), 0
        info(f"{self._stamp()} run started: {len(centers)} center(s): {', '.join(centers)}")

    def center_started(self, center: str) -> None:
        pass

    def center_finished(self, result) -> None:
        self.rows += result.rows_read
        line = f"{self._stamp()} {describe(result)}"
        error(line) if result.status == "failed" else info(line)

    def step(self, text: str) -> None:
        info(f"{self._stamp()} {text}")

    def problem(self, text: str) -> None:
        error(f"{self._stamp()} {text}")

    def finish(self) -> None:
        info(f"{self._stamp()} run finished in {time.monotonic() - self.started:.1f} s")


class Silent(PlainLines):
    """--quiet: only problems (on stderr)."""

    def start(self, centers):
        pass

    def center_finished(self, result):
        if result.status == "failed":
            error(describe(result))

    def step(self, text):
        pass

    def problem(self, text):
        error(text)

    def finish(self):
        pass


class Bar(PlainLines):
    """A rich.progress bar on the terminal, finished centers printed above it."""

    def __init__(self):
        super().__init__()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("centers"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=True)
        self.task = None

    def start(self, centers):
        super().start(centers)
        self.progress.start()
        self.task = self.progress.add_task("starting", total=len(centers), rate="0 rows/s")

    def center_started(self, center):
        self.progress.update(self.task, description=f"loading {center}")

    def center_finished(self, result):
        self.rows += result.rows_read
        rate = self.rows / max(time.monotonic() - self.started, 1e-3)
        self.progress.update(self.task, advance=1, rate=f"{rate:,.0f} rows/s")
        self.progress.console.print(describe(result))

    def step(self, text):
        self.progress.update(self.task, description=text)
        self.progress.console.print(text)

    def problem(self, text):
        self.progress.console.print(text)

    def finish(self):
        self.progress.stop()
        super().finish()


_current = {"display": PlainLines()}


def current() -> PlainLines:
    """The display the running flow reports to."""
    return _current["display"]


def chosen() -> PlainLines:
    """The display for this process: silent with --quiet, a bar on a terminal, else lines."""
    if verbosity() == QUIET:
        return Silent()
    return Bar() if console.is_terminal else PlainLines()


@contextmanager
def shown(display: PlainLines | None = None):
    """Make ``display`` (default: ``chosen()``) the current one for the ``with`` block."""
    previous, _current["display"] = _current["display"], display or chosen()
    try:
        yield _current["display"]
    finally:
        if isinstance(_current["display"], Bar):
            _current["display"].progress.stop()
        _current["display"] = previous


def summary_table(results) -> Table:
    """center | rows read | loaded | quarantined | patients | seconds | status."""
    table = Table(title="harmonise run summary")
    for name, justify in (("center", "left"), ("rows read", "right"), ("loaded", "right"),
                          ("quarantined", "right"), ("patients", "right"), ("seconds", "right"),
                          ("status", "left")):
        table.add_column(name, justify=justify)
    for r in results:
        style = STATUS_STYLE.get(r.status, "")
        seconds = "" if r.seconds is None else f"{r.seconds:.1f}"
        table.add_row(r.center, str(r.rows_read), str(r.rows_loaded), str(r.rows_quarantined),
                      str(r.patients_loaded), seconds, f"[{style}]{r.status}[/]")
    return table
