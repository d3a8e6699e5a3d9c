"""Where a center's export files are: ``<inbox>/<center>/``, and nothing outside it."""
from __future__ import annotations

import os
from pathlib import Path

from harmonise.mappings.errors import CenterError
from harmonise.schemas.quarantine import FixIn


def center_inbox(inbox: Path, center: str) -> Path:
    """Where a center's export files are expected: ``<inbox>/<center>/``."""
    return Path(inbox) / center


def export_path(center: str, inbox: Path, name: str, allow_symlinks: bool = False) -> Path:
    """``<inbox>/<center>/<name>``, refused if it leaves that folder or passes a symbolic link.

    The mapping already refuses absolute names and ``..``; this catches a symbolic link
    inside the inbox (``site_a/p.csv -> ../site_b/p.csv``, or the center folder itself),
    which would load another folder's export under this center's name.
    """
    folder = center_inbox(inbox, center)
    path = folder / name
    if not allow_symlinks:
        for part in [folder, *(folder / Path(*Path(name).parts[:i + 1])
                               for i in range(len(Path(name).parts)))]:
            if part.is_symlink():
                raise CenterError(center, f"{part.name} is a symbolic link (to {os.readlink(part)}); "
                                          "exports are read only from the center's own folder",
                                  file=str(path), hint="Copy the export into the folder instead of "
                                  "linking it, or set allow_symlinks: true in harmonise.yaml.", fix=(FixIn.EXPORT,))
        if path.exists() and not path.resolve().is_relative_to(folder.resolve()):
            raise CenterError(center, "the export file lies outside the center's folder",
                              file=str(path), hint=f"Put the export in {folder}.", fix=(FixIn.EXPORT,))
    return path
