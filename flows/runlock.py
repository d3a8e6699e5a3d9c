"""One run at a time per warehouse: an exclusive lock on ``<warehouse>.lock``.

The lock is an ``flock`` held for the whole run; the operating system releases it when
the process ends, even when it is killed, so a crash never leaves a stale lock. A second
run either stops at once with a clear message, or waits (``--wait``).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path


class AlreadyRunning(Exception):
    """Another run holds the lock (the message says which and what to do)."""


@contextmanager
def run_lock(path: Path, wait: bool = False, timeout_s: float | None = None, poll_s: float = 1.0):
    """Hold the lock file ``path`` for the duration of the ``with`` block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = path.read_text(encoding="utf-8").strip() or "another process"
                if not wait or (timeout_s is not None and time.monotonic() - started > timeout_s):
                    raise AlreadyRunning(
                        f"harmonise is already running ({holder}). Nothing was changed. "
                        "Wait for it to finish, or run with --wait to start when it is done.") from None
                time.sleep(poll_s)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        fh.flush()
        yield
    finally:
        fh.close()  # releases the lock
