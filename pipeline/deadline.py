"""A time limit per center: a runaway center fails alone and the others still load.

One bad input must not hold the run (and its lock) for hours: an export that never
finishes arriving, a pathological file. Mapping and validating a center runs under an
alarm (``SIGALRM``, the main thread only: that is where Prefect runs synchronous tasks and
where the plain pipeline runs); when it rings, the center fails with ``CenterTimeLimit``
and its previous rows stay. Elsewhere (a worker thread) the limit is not enforced.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from harmonise.mappings.errors import CenterError


class CenterTimeLimit(CenterError):
    """The center took longer than the project's ``center_time_limit_s``."""


@contextmanager
def time_limit(center: str, seconds: float | None):
    """Raise ``CenterTimeLimit`` inside the block once it has run ``seconds``."""
    usable = seconds and seconds > 0 and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def ring(signum, frame):
        raise CenterTimeLimit(
            center, f"mapping and validating the export took longer than the limit of "
            f"{seconds:g} s, so the center was stopped; its previous rows stay loaded",
            hint="Check that the export files are complete and readable (not a pipe or a stalled "
                 "network share) and of the expected size; raise center_time_limit_s in "
                 "harmonise.yaml if this center is simply very large.")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
