"""Prefect's temporary API server for a run without PREFECT_API_URL, which never outlives it.

Left to itself, Prefect starts a temporary server (a uvicorn subprocess, about 230 MB) and
stops it when the interpreter exits normally. A run killed with SIGKILL (or by the
out-of-memory killer) never gets there, and the server stays for minutes. So ``harmonise run``
starts that same server itself, on a free loopback port, and points ``PREFECT_API_URL`` at
it before Prefect is imported. The server is our child and watches a pipe from us: when the
pipe closes (the run ended, however it ended: the kernel closes it even on SIGKILL) the
server stops itself, at once and whole. On Linux it also asks the kernel for SIGTERM when the
run dies (``PR_SET_PDEATHSIG``), in case a forked helper of the run still holds the pipe. Its output goes to ``<PREFECT_HOME>/temporary-server.log``.

One server per process, like Prefect's own (Prefect reads its API URL once, at import);
stopped at exit. Nothing is started when the user set ``PREFECT_API_URL`` (their server is
used) or when Prefect was already imported without one (it then runs its own).

Run as ``python -m harmonise.flows.temporary_server PORT``: the server side.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

#: How long a child that lost its parent waits for a clean shutdown before it exits anyway.
GRACE_S = 10.0
_ours: dict[str, object] = {}


class ServerDidNotStart(Exception):
    """The temporary server did not answer in time (the message says where its log is)."""


def ensure(prefect_home: Path, timeout_s: float | None = None) -> str | None:
    """Start the run's temporary server unless one is configured; return its API URL (or None).

    Call after ``prefect_env.configure`` and before Prefect is imported.
    """
    if "process" in _ours and _ours["process"].poll() is None:
        return str(_ours["url"])
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return None
    timeout_s = timeout_s or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 90))
    log_path = Path(prefect_home) / "temporary-server.log"
    for _attempt in range(3):                 # a port taken between choosing and binding: again
        port = _free_port()
        process, guard = _start(port, log_path)
        url = f"http://127.0.0.1:{port}/api"
        if _wait_healthy(url, process, timeout_s):
            _ours.update(process=process, guard=guard, url=url)
            os.environ["PREFECT_API_URL"] = url
            atexit.register(stop)
            return url
        _stop(process, guard)
    raise ServerDidNotStart(
        f"Prefect's temporary server did not start within {timeout_s:.0f} s (its log: {log_path}). "
        "Run again; on a busy machine raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or "
        "start a server yourself (`prefect server start`) and set PREFECT_API_URL.")


def user_api_url() -> str | None:
    """The Prefect server the user configured (``PREFECT_API_URL``), not this run's own."""
    url = os.environ.get("PREFECT_API_URL")
    return None if not url or url == _ours.get("url") else url


def stop() -> None:
    """Stop this process's temporary server (also done at exit)."""
    if "process" in _ours:
        _stop(_ours.pop("process"), _ours.pop("guard"))
        if os.environ.get("PREFECT_API_URL") == _ours.pop("url", None):
            os.environ.pop("PREFECT_API_URL", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    """The server as our child; it reads the pipe whose write end (returned) only we hold."""
    read_end, write_end = os.pipe()           # both non-inheritable: no other child gets them
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "harmonise.flows.temporary_server", str(port), str(os.getpid())],
            stdin=read_end, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)           # Ctrl+C stops the run; the run's end stops this
    os.close(read_end)
    return process, write_end


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen, guard: int) -> None:
    try:
        os.close(guard)                       # the child sees end-of-file and shuts down
    except OSError:
        pass
    try:
        process.wait(timeout=GRACE_S + 5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _watch_parent() -> None:
    """In the child: stop when the parent's end of stdin closes (the parent is gone)."""
    try:
        while os.read(0, 1024):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)      # uvicorn's clean shutdown
    time.sleep(GRACE_S)
    os._exit(0)                               # a shutdown that hangs must not keep us alive


def _die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """In a child: the kernel sends ``sig`` when the parent (the thread that started us) ends,
    even killed (Linux only; elsewhere the pipe alone does it). A parent already gone: exit."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)   # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(0)


def _serve(port: int, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
    import uvicorn
    uvicorn.run("prefect.server.api.server:create_app", factory=True, host="127.0.0.1",
                port=port, log_level="error", lifespan="on")


if __name__ == "__main__":  # pragma: no cover - the child's entry point
    _serve(int(sys.argv[1]), int(sys.argv[2]))
