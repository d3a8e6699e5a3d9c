"""A real Prefect server on loopback for the tests: started once per session, stopped by its handle.

State in a temporary PREFECT_HOME, telemetry off, the UI on (the screenshots use it).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """Stop a child started with start_new_session=True, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@dataclass
class PrefectServer:
    url: str            # http://127.0.0.1:PORT
    home: Path          # its PREFECT_HOME
    process: subprocess.Popen

    @property
    def api(self) -> str:
        return self.url + "/api"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a client process of this server."""
        return {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.api,
                "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}

    def post(self, path: str, body: dict | None = None):
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(self.api + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        for attempt in range(6):         # a busy server answers 503 (its SQLite is locked): retry
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code != 503 or attempt == 5:
                    raise
                time.sleep(1 + attempt)


def start(home: Path) -> PrefectServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "true",
           "PREFECT_UI_API_URL": url + "/api"}
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/api/health", timeout=2).status == 200,
                 180, "the Prefect server")
    except BaseException:
        stop(process)
        raise
    return PrefectServer(url, home, process)
