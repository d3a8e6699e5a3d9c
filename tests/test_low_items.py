"""Small traps: center ids, 30-digit integers, key file modes, mixed keys, a second run's refusal."""
from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.runlock import run_lock
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, Settings
from harmonise.mappings.errors import MappingError
from harmonise.mappings.pseudonym import KEY_FILE_ENV, key_file_warning
from harmonise.mappings.spec import load_mapping
from tests.conftest import MINIMAL_MAPPING


def test_a_center_id_that_is_not_lower_case_is_refused_with_the_name_to_use(tmp_path):
    shutil.copy(DEMO_MAPPINGS / "site_a.yaml", tmp_path / "Site-A.yaml")
    with pytest.raises(MappingError, match="'Site-A' is not a valid center id") as caught:
        load_mapping("Site-A", tmp_path)
    assert "site_a.yaml" in caught.value.message


def test_a_run_with_a_mapping_named_site_a_with_capitals_fails_that_center_instead_of_loading_it(
        tmp_path):
    mappings, inbox = tmp_path / "mappings", tmp_path / "inbox"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    shutil.copytree(DEMO_INBOX, inbox)
    (mappings / "site_a.yaml").rename(mappings / "Site-A.yaml")
    (inbox / "site_a").rename(inbox / "Site-A")
    settings = Settings(home=tmp_path / "home", inbox=inbox, mappings_dir=mappings, demo_key=True)
    steps.prepare_warehouse(settings)
    result = steps.ingest_center("Site-A", settings, steps.new_run_id(), steps.pseudonym_key(settings))
    assert result.status == "failed" and result.patients_loaded == 0
    assert "not a valid center id" in result.message and "rename the file to site_a.yaml" in result.message


def test_a_30_digit_integer_is_quarantined_not_wrapped_to_a_negative_number(tmp_path):
    mappings, inbox = tmp_path / "mappings", tmp_path / "inbox"
    mappings.mkdir()
    (inbox / "x_site").mkdir(parents=True)
    (mappings / "x_site.yaml").write_text(MINIMAL_MAPPING + "      AGE: {to: patient.age_years}\n",
                                          encoding="utf-8")
    (inbox / "x_site" / "p.csv").write_text(
        "ID,SEX,AGE\nP1,M,123456789012345678901234567890\nP2,F,54\n", encoding="utf-8")
    settings = Settings(home=tmp_path / "home", inbox=inbox, mappings_dir=mappings, demo_key=True)
    batch = steps.build_batch("x_site", settings, steps.pseudonym_key(settings))
    assert (batch.clean["patient"]["age_years"].dropna() >= 0).all()
    reasons = " ".join(batch.quarantine["reason"].dropna())
    assert "must be at most 9223372036854775807" in reasons
    assert "-9223372036854775808" not in reasons


def test_a_key_file_others_can_read_is_warned_about(tmp_path, monkeypatch):
    key = tmp_path / "key"
    key.write_text("k" * 40, encoding="utf-8")
    monkeypatch.setenv(KEY_FILE_ENV, str(key))
    os.chmod(key, 0o777)
    warning = key_file_warning()
    assert warning and "0777" in warning and f"chmod 600 {key}" in warning
    os.chmod(key, 0o600)
    assert key_file_warning() is None


def test_ingesting_one_center_with_another_key_warns_that_keys_are_mixed(published_copy):
    settings = published_copy
    other_key = b"another-key-of-at-least-32-characters-long"
    warning = steps.mixed_key_warning(settings, other_key, ["site_b"])
    assert warning and warning.startswith("site_a, site_c were last loaded with another")
    assert steps.mixed_key_warning(settings, steps.pseudonym_key(settings), ["site_b"]) is None


def test_a_second_run_says_already_running_without_a_traceback(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with run_lock(warehouse.with_name("w.duckdb.lock")):
        result = CliRunner().invoke(app, ["run", "--demo", "--warehouse", str(warehouse)])
    assert result.exit_code == 3
    assert "already running" in result.output and "Traceback" not in result.output
    assert len(result.output.splitlines()) <= 4


def test_retiring_a_center_removes_its_rows_and_keeps_the_others(published_copy):
    import duckdb
    settings = published_copy
    refused = CliRunner().invoke(app, ["retire", "site_b", "--warehouse", str(settings.warehouse)])
    assert refused.exit_code == 2 and "--yes" in refused.output
    result = CliRunner().invoke(app, ["retire", "site_b", "--warehouse", str(settings.warehouse),
                                      "--yes"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        per_center = dict(con.execute("SELECT center_id, count(*) FROM patient GROUP BY ALL").fetchall())
        status = con.execute("SELECT status FROM load_log WHERE center_id = 'site_b' "
                             "ORDER BY finished_at DESC LIMIT 1").fetchone()[0]
    assert "site_b" not in per_center and per_center["site_a"] > 0 and per_center["site_c"] > 0
    assert status == "retired"
