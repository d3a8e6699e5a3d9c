"""Outputs a run creates: permissions as configured, and a killed report never leaves a mix."""
from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from harmonise.flows import steps
from harmonise.flows.settings import PROJECT_ROOT
from tests.conftest import ingest_all


@pytest.fixture
def published(settings_for, inbox_copy):
    old = os.umask(0o022)                        # a usual umask: world-readable by default
    try:
        settings = settings_for(inbox_copy)
        build = steps.begin_build(settings)
        ingest_all(build)
        steps.publish_build(build, settings)
        yield settings
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


KILLED_REPORT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from harmonise.analysis import report
    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    real = report.write_csv
    def write_then_die(frame, path):
        real(frame, path)
        os.kill(os.getpid(), signal.SIGKILL)       # killed after the figures, mid-numbers
    report.write_csv = write_then_die
    settings = Settings(home=Path(sys.argv[1]), warehouse=Path(sys.argv[2]))
    steps.write_report(settings, out_dir=Path(sys.argv[3]))
""")


def test_warehouse_and_report_are_0640_and_a_killed_report_leaves_the_previous_one_whole(
        published, tmp_path):
    assert _mode(published.warehouse) == 0o640
    out = tmp_path / "report"
    html = steps.write_report(published, out_dir=out)
    assert html == out / "report.html" and html.exists()
    assert {_mode(p) for p in out.rglob("*") if p.is_file()} == {0o640}
    assert _mode(out) == 0o750
    before = _digest(out)
    proc = subprocess.run([sys.executable, "-c", KILLED_REPORT, str(published.home),
                           str(published.warehouse), str(out)], timeout=600,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert proc.returncode == -signal.SIGKILL
    assert _digest(out) == before                 # the previous report, whole: no mix
    assert (tmp_path / ".report.building").exists()
