"""What a command works on: the project's (or the demo's) settings, an existing warehouse.

A missing or broken project, or a warehouse not made yet, exits 4 with what to do; a run
that did not start or publish exits with its documented code (``cli_options.ExitCode``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_options import ExitCode
from harmonise.flows.output import error


def settings_for(warehouse: Optional[Path] = None, project: Optional[Path] = None, demo: bool = False,
                 required: bool = False, **options):
    """The command's settings: the demo, or the project (``--project``, $HARMONISE_PROJECT,
    the current folder or above); a bad or missing project exits 4 with what to do."""
    from harmonise.flows.project import ProjectError, resolve
    try:
        return resolve(project, demo=demo, required=required,
                       **({"warehouse": warehouse} if warehouse else {}), **options)
    except ProjectError as err:
        error(f"[bold red]Cannot start:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)


def existing_warehouse(warehouse: Optional[Path], project: Optional[Path] = None):
    """Settings of a warehouse that must exist (else exit 4 with what to do)."""
    from harmonise.warehouse.backend import StorageError
    settings = settings_for(warehouse, project)
    try:
        exists = settings.backend.exists()
    except StorageError as err:
        error(f"[bold red]Cannot open the warehouse:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)
    if not exists:
        error(f"No warehouse at {settings.backend.describe()} yet: run `harmonise run` first.")
        raise typer.Exit(ExitCode.CANNOT_START)
    return settings


def refuse(style: str, label: str, err: Exception, code: ExitCode):
    """Print why a run did not start or publish, on stderr, and exit with its documented code."""
    error(f"[{style}]{label}:[/] {escape(str(err))}")
    raise typer.Exit(code)
