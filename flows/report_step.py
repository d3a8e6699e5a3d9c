"""The report step: write the pooled-analysis report of the published warehouse.

Kept apart from ``flows/steps.py`` (which names the ingestion pipeline's functions) so that
`harmonise report` imports the analysis alone, not the mapping engine and pandera.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harmonise.flows.settings import Settings
from harmonise.warehouse import backend, publish


@dataclass(frozen=True)
class WarehouseReader:
    """What the report reads from: a read-only connection, optionally at a snapshot."""

    warehouse: object
    as_of: int | None = None

    def connect(self, read_only: bool = True):
        return self.warehouse.connect(read_only=True, as_of=self.as_of)

    @property
    def own_instance(self) -> bool:
        """Each connection is its own DuckDB instance (the report may cap its memory)."""
        return self.as_of is None and backend.own_instance(self.warehouse)


def write_report(settings: Settings, transform: str = "log", out_dir: Path | None = None,
                 as_of: int | None = None, shareable: bool = False, png: bool = False) -> Path:
    """Write the pooled-analysis report of the published warehouse; return the HTML path.

    ``as_of`` (DuckLake only): the snapshot to report on, so an earlier freeze is reproduced.
    ``shareable``: the consortium's copy, small cells withheld at the project's
    ``report.small_cell_threshold``, by default in ``report-shareable/`` beside the report.
    ``png``: also a PNG at 300 dpi per figure panel, whatever ``report.figure_formats`` says.
    The previous report's figures are copied into the new one first, so a panel whose data
    did not change is not drawn again (:func:`analysis.kmplot.draw_all`).
    """
    import shutil

    from harmonise.analysis.report import write_report as write
    reader = WarehouseReader(settings.backend, as_of)
    folder = Path(out_dir or (settings.report_dir.with_name(settings.report_dir.name + "-shareable")
                              if shareable else settings.report_dir))
    threshold = settings.small_cell_threshold if shareable else None
    formats = (*settings.figure_formats, *(("png",) if png else ()))

    def build(staging: Path) -> Path:
        if (folder / "figures").is_dir():
            shutil.copytree(folder / "figures", staging / "figures")
        return write(reader, staging, plan=settings.analysis_plan, transform=transform,
                     shareable=threshold, figure_formats=formats)
    return publish.publish_folder(folder, build, settings.file_mode)
