"""A run's child processes never outlive it, and a second run is refused in one clean message.

Real processes: ``harmonise run --demo`` in a subprocess with its own home, Prefect's server
found by its environment in /proc, SIGKILL, then every process that carries that home must be
gone. Linux only (/proc).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.prefect_server import wait_for

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")]


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "HARMONISE_HOME": str(home), "PREFECT_HOME": str(home / "prefect")}
    env.pop("PREFECT_API_URL", None)
    return env


def _left_after_sigkill(run: subprocess.Popen, home: Path) -> set[int]:
    """SIGKILL the run, then give its children up to 30 s to go; what still carries ``home``."""
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    end = time.monotonic() + 30
    while _carrying(home) and time.monotonic() < end:
        time.sleep(0.2)
    return _carrying(home)


def _carrying(home: Path) -> set[int]:
    """Every live process whose environment names ``home`` as HARMONISE_HOME."""
    marker = f"HARMONISE_HOME={home}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.add(int(entry.name))
        except OSError:       # gone meanwhile, or not ours to read
            continue
    return found


def _listening_sockets() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":                         # LISTEN
                inodes.add(fields[9])
    return inodes


def _listens(pid: int) -> bool:
    listening = _listening_sockets()
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link.startswith("socket:[") and link[8:-1] in listening for link in links)


def _kill_left_over(home: Path) -> None:
    for pid in _carrying(home):                           # this test's own children only
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _forks_of(run: subprocess.Popen, home: Path) -> set[int]:
    """The run's forked helpers (the figure workers): its own command line, another pid."""
    try:
        own = Path(f"/proc/{run.pid}/cmdline").read_bytes()
    except OSError:                                   # the run has ended
        return set()
    found = set()
    for pid in _carrying(home) - {run.pid}:
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                found.add(pid)
        except OSError:
            continue
    return found


def test_a_run_sigkilled_while_drawing_figures_leaves_no_prefect_server_worker_or_other_child(
        tmp_path):
    home = tmp_path / "home"
    env = {**_env(home), "HARMONISE_FIGURE_WORKERS": "2"}
    run = subprocess.Popen([str(BIN / "harmonise"), "run", "--demo"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = wait_for(lambda: next((p for p in _carrying(home) - {run.pid} if _listens(p)), None),
                          240, "the run's Prefect server to listen")
        end = time.monotonic() + 300                  # then the report's drawing workers
        while not _forks_of(run, home) and run.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        workers = _forks_of(run, home)
        assert workers and run.poll() is None, "the run ended before its figure workers were seen"
        left = _left_after_sigkill(run, home)
        assert left == set(), (f"still alive after the run was killed (server {server}, "
                               f"figure workers {sorted(workers)})")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        _kill_left_over(home)


#: A run's center workers (a forkserver and its pool), then the run waits to be killed.
WORKERS_THEN_WAIT = textwrap.dedent("""
    import os, time
    from harmonise.pipeline.pool import CenterWorkers
    workers = CenterWorkers(2)
    pids = {workers._processes().submit(os.getpid).result() for _ in range(4)}
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(300)
""")


def test_a_run_sigkilled_while_its_center_workers_are_up_leaves_no_worker_or_forkserver(tmp_path):
    home = tmp_path / "home"
    run = subprocess.Popen([sys.executable, "-c", WORKERS_THEN_WAIT], env=_env(home),
                           stdout=subprocess.PIPE, text=True)
    try:
        workers = {int(p) for p in run.stdout.readline().split()}
        assert workers and workers <= _carrying(home)
        assert len(_carrying(home)) >= 3                # the run, the forkserver, its workers
        left = _left_after_sigkill(run, home)
        assert left == set(), f"still alive after the run was killed (workers {workers})"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        _kill_left_over(home)


#: A second run that passed the quick check before the first took the lock: it meets the lock
#: inside the flow, with Prefect running.
SECOND_RUN = textwrap.dedent("""
    import sys
    from harmonise.flows import cli, steps
    from harmonise.flows.runlock import run_lock
    from harmonise.flows.settings import Settings
    steps.preflight = lambda settings, wait=False: None
    with run_lock(steps.lock_path(Settings.demo())):
        sys.argv = ["harmonise", "run", "--demo"]
        cli.main()
""")


def test_a_second_run_that_meets_the_lock_inside_the_flow_says_already_running_and_nothing_else(
        tmp_path, prefect_server):
    home = tmp_path / "home"
    env = {**_env(home), "PREFECT_API_URL": prefect_server.api}     # the session's server
    try:
        done = subprocess.run([sys.executable, "-c", SECOND_RUN], env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        _kill_left_over(home)
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert "already running" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) <= 4, output
