"""A full disk: the real cause in the message, the published warehouse untouched, no manual repair."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from harmonise.flows.settings import DEMO_INBOX, PROJECT_ROOT

#: Runs inside its own mount namespace, on a real 24 MB tmpfs: load, fill the disk, load
#: again (fails), free the space, load again (recovers). Prints what it saw as JSON.
CHILD = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import duckdb
    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    from tests.conftest import ingest_all
    home, inbox = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(home=home, inbox=inbox, demo_key=True, min_free_mb=2)
    def run(force):
        build = steps.begin_build(settings)
        results = ingest_all(build, force=force)
        steps.publish_build(build, settings)
        return {c: r.status for c, r in results.items()}
    out = {"first": run(False)}
    filler = home / "filler"
    with open(filler, "wb") as fh:                       # fill the disk but for a little
        free = os.statvfs(home).f_bavail * os.statvfs(home).f_frsize
        fh.write(b"\\0" * max(0, free - settings.warehouse.stat().st_size - 200_000))
    try:
        steps.preflight(settings)
    except Exception as exc:
        out["preflight"] = f"{type(exc).__name__}: {exc}"
    try:
        out["full"] = run(True)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        out["patients_while_full"] = con.execute("SELECT count(*) FROM patient").fetchone()[0]
    filler.unlink()                                      # the operator frees space; nothing else
    out["building_before"] = any(p.name.endswith(".building") for p in home.iterdir())
    steps.preflight(settings)                            # discards the dead run's copy first
    out["building_after_preflight"] = any(p.name.endswith(".building") for p in home.iterdir())
    out["after"] = run(True)
    out["building_left"] = any(p.name.endswith(".building") for p in home.iterdir())
    print("RESULT" + json.dumps(out))
""")


def _tmpfs_child(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    script = (f"mount -t tmpfs -o size=24m tmpfs {mount} && mkdir {mount}/home && "
              f"exec {sys.executable} -c \"$CHILD\" {mount}/home {tmp_path / 'inbox'}")
    shutil.copytree(DEMO_INBOX, tmp_path / "inbox")
    env = {**os.environ, "CHILD": CHILD, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          timeout=600, env=env)


def test_a_full_disk_fails_with_its_real_cause_and_the_next_run_recovers_unaided(tmp_path):
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) to mount a small tmpfs in a private mount namespace")
    proc = _tmpfs_child(tmp_path)
    if "RESULT" not in proc.stdout and ("mount" in proc.stderr or "unshare" in proc.stderr):
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    assert "RESULT" in proc.stdout, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert set(out["first"].values()) == {"loaded"}
    assert "No space left on device" in out["error"]
    assert "cannot rollback" not in out["error"]
    assert out["preflight"].startswith("NotEnoughSpace: only") and "Nothing was changed" in out["preflight"]
    assert out["building_before"] and not out["building_after_preflight"]
    assert out["patients_while_full"] == 79                # the published warehouse: untouched
    assert set(out["after"].values()) == {"loaded"} and not out["building_left"]
