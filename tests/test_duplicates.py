"""The same patient at two centers is flagged by a keyed fingerprint, the values never stored."""
from __future__ import annotations

import shutil

import duckdb
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_MAPPINGS, Settings
from tests.conftest import ingest_all


def test_patients_seen_at_two_centers_are_flagged_in_status(tmp_path, inbox_copy):
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    text = (mappings / "site_a.yaml").read_text(encoding="utf-8")
    (mappings / "x_site.yaml").write_text(text.replace("center: site_a", "center: x_site"),
                                          encoding="utf-8")
    (inbox_copy / "x_site").mkdir()
    for name, keep in (("site_a_patients.csv", 4), ("site_a_adverse_events.csv", 1)):
        lines = (inbox_copy / "site_a" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (inbox_copy / "x_site" / name).write_text("".join(lines[:keep]), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, mappings_dir=mappings,
                        demo_key=True)
    results = ingest_all(settings)
    assert results["x_site"].status == "loaded", results["x_site"].message
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE patient_fingerprint").fetchall()]
    assert columns == ["center_id", "patient_key", "fingerprint", "load_id"]   # no quasi-identifier
    result = CliRunner().invoke(app, ["status", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0, result.output
    assert "Likely the same patients at two centers" in result.output
    assert "site_a and x_site: 3" in result.output
