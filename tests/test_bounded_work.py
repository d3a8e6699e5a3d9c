"""Bounded work: no pattern, header or stalled file can hold the run; a runaway center fails alone."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

from harmonise.flows import steps
from harmonise.flows.settings import DEMO_MAPPINGS, Settings
from harmonise.schemas.text import MAX_MESSAGE
from tests.conftest import MINIMAL_MAPPING

X_SITE = MINIMAL_MAPPING + "      ECOG: {to: patient.ecog, extract: '^((?:a+)+)$'}\n"

#: One center in a child process; prints the console line and the stored message's length.
ONE_CENTER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import duckdb
    from harmonise.flows import steps
    from harmonise.flows.output import error
    from harmonise.flows.progress import describe
    from harmonise.flows.settings import Settings
    settings = Settings(home=Path(sys.argv[1]), inbox=Path(sys.argv[2]),
                        mappings_dir=Path(sys.argv[3]), demo_key=True)
    steps.prepare_warehouse(settings)
    result = steps.ingest_center("x_site", settings, steps.new_run_id(),
                                 steps.pseudonym_key(settings))
    error(describe(result))                 # the console line, through rich
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        stored = con.execute("SELECT max(length(message)) FROM load_log").fetchone()[0]
    print("STATUS", result.status, "STORED", stored, flush=True)
""")


def _x_site(tmp_path, header: str, rows: list[str]):
    mappings, inbox = tmp_path / "mappings", tmp_path / "inbox"
    mappings.mkdir()
    (inbox / "x_site").mkdir(parents=True)
    (mappings / "x_site.yaml").write_text(X_SITE, encoding="utf-8")
    (inbox / "x_site" / "p.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return mappings, inbox


def _run_child(tmp_path, mappings, inbox) -> str:
    proc = subprocess.run([sys.executable, "-c", ONE_CENTER, str(tmp_path / "home"), str(inbox),
                           str(mappings)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr   # errors go to stderr


def test_a_catastrophic_extract_pattern_finishes_at_once_on_a_hostile_cell(tmp_path):
    rows = [f"P{i},M,{'a' * 34}!" for i in range(20)] + ["P99,F,aaa"]
    out = _run_child(tmp_path, *_x_site(tmp_path, "ID,SEX,ECOG", rows))
    assert "rows quarantined" in out and "STATUS failed" in out   # it returned at all


def test_a_50_mb_column_name_fails_the_center_quickly_with_a_short_message(tmp_path):
    header = "ID,SEX,ECOG," + "N" * 50_000_000
    started = time.monotonic()
    out = _run_child(tmp_path, *_x_site(tmp_path, header, ["P1,M,aaa,x"]))
    assert time.monotonic() - started < 170
    assert "STATUS failed" in out
    stored = int(out.split("STORED")[1].split()[0])
    assert stored <= MAX_MESSAGE + 100 and len(out) < 3 * MAX_MESSAGE


def test_a_center_over_its_time_limit_fails_alone_and_the_others_load(tmp_path, inbox_copy):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for path in DEMO_MAPPINGS.glob("site_*.yaml"):
        shutil.copy(path, mappings)
    (mappings / "x_site.yaml").write_text(X_SITE.replace(", extract: '^((?:a+)+)$'", ""),
                                          encoding="utf-8")
    (inbox_copy / "x_site").mkdir()
    rows = "".join(f"P{i},{'MF'[i % 2]},{i % 4}\n" for i in range(200_000))
    (inbox_copy / "x_site" / "p.csv").write_text("ID,SEX,ECOG\n" + rows, encoding="utf-8")
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, mappings_dir=mappings,
                        demo_key=True, center_time_limits={"x_site": 0.5})
    steps.prepare_warehouse(settings)
    run_id, key = steps.new_run_id(), steps.pseudonym_key(settings)
    results = {c: steps.ingest_center(c, settings, run_id, key) for c in steps.centers_to_run(settings)}
    assert results["x_site"].status == "failed"
    assert "longer than the limit of 0.5 s" in results["x_site"].message
    assert {c: r.status for c, r in results.items() if c != "x_site"} == {
        "site_a": "loaded", "site_b": "loaded", "site_c": "loaded"}
