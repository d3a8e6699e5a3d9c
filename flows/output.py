"""Where the command line's words go: results on stdout, errors on stderr, at a chosen verbosity.

``--quiet`` keeps errors and the final outcome; ``--verbose`` adds every step. Export text
inside messages is escaped by the callers, so it is never read as rich markup.
"""
from __future__ import annotations

import os
import sys

from rich.console import Console


def _width(stream) -> int | None:
    """Not a terminal (cron, CI, a pipe): wide lines instead of wrapping at 80 columns."""
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 200


#: Results (tables, JSON, CSV, the outcome line) go to stdout, so they can be piped.
console = Console(highlight=False, width=_width(sys.stdout))
#: Errors and warnings go to stderr, so a cron mail or CI log shows them apart.
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))

QUIET, NORMAL, VERBOSE = -1, 0, 1
_level = {"value": NORMAL}


def set_verbosity(level: int) -> None:
    _level["value"] = level


def verbosity() -> int:
    return _level["value"]


def info(text: str) -> None:
    """A line for a person watching (not with --quiet)."""
    if verbosity() >= NORMAL:
        console.print(text, soft_wrap=not console.is_terminal)


def detail(text: str) -> None:
    """A line only --verbose shows."""
    if verbosity() >= VERBOSE:
        console.print(text, soft_wrap=not console.is_terminal)


def error(text: str) -> None:
    """A problem, on stderr, whatever the verbosity."""
    err_console.print(text, soft_wrap=not err_console.is_terminal)
