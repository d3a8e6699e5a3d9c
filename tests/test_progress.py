"""What a person sees during a run: a rich progress bar on a terminal, timestamped lines elsewhere."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest

from harmonise.flows import output, progress
from harmonise.pipeline.center import CenterResult
from tests.prefect_server import BIN

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_without_a_terminal_each_event_is_one_timestamped_line_and_failures_go_to_stderr(capsys):
    display = progress.PlainLines()
    display.start(["site_a", "site_b"])
    display.center_finished(CenterResult("site_a", "loaded", rows_read=222, rows_loaded=222,
                                         patients_loaded=52, seconds=1.25))
    display.center_finished(CenterResult("site_b", "failed", message="[center site_b] broken"))
    display.finish()
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert re.fullmatch(rf"{STAMP} run started: 2 center\(s\): site_a, site_b", lines[0])
    assert re.fullmatch(rf"{STAMP} ✓ site_a: 52 patients loaded, 0 rows quarantined \(222 rows read\) in 1\.2 s",
                        lines[1])
    assert re.fullmatch(rf"{STAMP} run finished in \d+\.\d s", lines[2])
    assert re.fullmatch(rf"{STAMP} ✗ site_b failed: \[center site_b\] broken", err.strip())


def test_quiet_shows_only_failures(capsys):
    output.set_verbosity(output.QUIET)
    try:
        display = progress.chosen()
        display.start(["site_a"])
        display.center_finished(CenterResult("site_a", "loaded", rows_read=1))
        display.center_finished(CenterResult("site_b", "failed", message="broken"))
        display.finish()
    finally:
        output.set_verbosity(output.NORMAL)
    out, err = capsys.readouterr()
    assert out == "" and "site_b failed" in err


def _read_pty(argv, env, timeout_s: float) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal; return its exit status and everything it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=env,
                            start_new_session=True, close_fds=True)
    os.close(follower)
    chunks, end = [], time.monotonic() + timeout_s
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:          # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        os.close(leader)


@pytest.mark.slow
def test_on_a_terminal_the_run_draws_a_progress_bar_with_counts_rate_and_eta(prefect_server, tmp_path):
    env = prefect_server.env(HARMONISE_HOME=str(tmp_path / "home"), TERM="xterm-256color",
                             COLUMNS="160", LINES="40")
    env.pop("NO_COLOR", None)
    status, drawn = _read_pty([str(BIN / "harmonise"), "run", "--demo"], env, 600)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert status == 0, plain[-2000:]
    assert "\x1b[" in drawn                                    # drawn with terminal controls
    assert re.search(r"loading site_[abc]", plain)            # the current center
    assert re.search(r"[0-3]/3 centers", plain)               # done / total
    assert re.search(r"[\d,]+ rows/s", plain)                 # throughput
    assert "ETA" in plain and re.search(r"\d:\d\d:\d\d", plain)   # elapsed and time remaining
    assert "✓ site_a: 52 patients loaded" in plain            # finished centers above the bar
    assert not re.search(rf"^{STAMP} ✓", plain, re.M)         # no plain log lines on a terminal
