"""A reader opened after a publish sees the published data, even while an older reader is open.

DuckDB keeps one database instance per file path and process, and hands it to every new
connection while any connection to it is open. A publish renames a new file over the path,
so without care a new read-only connection in a process that still holds an old one reads the
old file, however many publishes later.
"""
from __future__ import annotations

from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.warehouse import readonly
from tests.conftest import ingest_all

COUNT = "SELECT count(*) FROM v_patient"


def _drop_last_line(path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def _publish(settings) -> None:
    build = steps.begin_build(settings)
    ingest_all(build)
    steps.publish_build(build, settings)


def test_a_reader_opened_after_two_publishes_sees_the_new_data_while_an_old_reader_is_open(
        published_copy, inbox_copy):
    settings = published_copy
    held = settings.backend.connect(read_only=True)          # e.g. a status or report still open
    held_locked = readonly.open_locked(settings.warehouse)   # and a `harmonise sql` connection
    try:
        assert held.execute(COUNT).fetchone()[0] == 79
        for _ in range(2):                                   # two real loads of changed exports
            _drop_last_line(inbox_copy / "site_c" / "site_c_patients.csv")
            _publish(settings)
        with settings.backend.connect(read_only=True) as fresh:
            assert fresh.execute(COUNT).fetchone()[0] == 77
        with readonly.open_locked(settings.warehouse) as fresh:
            assert fresh.execute(COUNT).fetchone()[0] == 77
        result = CliRunner().invoke(app, ["sql", COUNT, "--csv", "--warehouse",
                                          str(settings.warehouse)])
        assert result.exit_code == 0, result.output
        assert result.output.split()[-1] == "77"
        assert held.execute(COUNT).fetchone()[0] == 79       # an open reader keeps its snapshot
    finally:
        held.close()
        held_locked.close()
