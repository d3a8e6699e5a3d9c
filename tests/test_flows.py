"""The real Prefect flow (temporary local server, no Prefect server configured) and the CLI."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from prefect.states import Completed, Failed
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.flows.nightly import build_deployment, is_transient, nightly, results_of

runner = CliRunner()


@pytest.mark.slow
def test_nightly_flow_loads_good_centers_when_one_fails_and_logs_the_failure(tmp_path, inbox_copy,
                                                                            prefect_server):
    from prefect.settings import PREFECT_API_URL, temporary_settings
    path = inbox_copy / "site_b" / "site_b_export.xlsx"
    path.write_bytes(b"this is not an Excel workbook")
    warehouse = tmp_path / "wh.duckdb"
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api}):   # the session's server
        state = nightly(demo=True, inbox=str(inbox_copy), warehouse=str(warehouse), return_state=True)
    assert state.is_failed() and "1 of 3 centers failed (site_b)" in state.message
    results = results_of(state)
    status = {r.center: r.status for r in results}
    assert status == {"site_a": "loaded", "site_b": "failed", "site_c": "loaded"}
    failure = next(r for r in results if r.center == "site_b").message
    assert "site_b_export.xlsx" in failure and "Hint" in failure
    assert (tmp_path / "wh.duckdb").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM v_patient").fetchone()[0] == 52 + 11
        logged = con.execute("SELECT center_id, status FROM load_log WHERE status = 'failed'").fetchall()
    assert logged == [("site_b", "failed")]


def test_deployment_schedules_nightly_on_the_given_cron():
    deployment = build_deployment(cron="30 3 * * *")
    assert deployment.name == "nightly"
    assert [s.schedule.cron for s in deployment.schedules] == ["30 3 * * *"]


def test_default_schedule_is_two_in_the_morning():
    assert [s.schedule.cron for s in build_deployment().schedules] == ["0 2 * * *"]


def test_only_transient_io_errors_are_retried():
    assert is_transient(None, None, Failed(data=OSError("file busy")))
    assert not is_transient(None, None, Failed(data=ValueError("bad data")))
    assert not is_transient(None, None, Completed(data=1))


def test_every_command_has_help_with_an_example():
    for name in ("run", "ingest", "serve", "status", "sql", "report", "profile", "new-center", "check"):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, name


def test_run_without_a_pseudonymisation_key_stops_with_what_to_do(tmp_path):
    from harmonise.flows.scaffold import init_project
    project = init_project(tmp_path / "study")          # says key_env: HARMONISE_PSEUDONYM_KEY (unset)
    result = runner.invoke(app, ["run", "--project", str(project), "--inbox", str(tmp_path),
                                 "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 4
    assert "HARMONISE_PSEUDONYM_KEY" in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_serve_without_a_prefect_server_explains_how_to_start_one():
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 4
    assert "prefect server start" in result.output


def test_status_shows_the_last_attempt_of_each_center(demo_warehouse):
    result = runner.invoke(app, ["status", "--warehouse", str(demo_warehouse)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for center in ("site_a", "site_b", "site_c"):
        assert center in result.output
    assert "loaded" in result.output


def test_short_key_is_refused(monkeypatch):
    from harmonise.mappings.pseudonym import PseudonymKeyError, load_key
    monkeypatch.setenv("HARMONISE_PSEUDONYM_KEY", "too-short")
    with pytest.raises(PseudonymKeyError, match="at least 32"):
        load_key()


def test_key_is_read_from_a_key_file(monkeypatch, tmp_path):
    from harmonise.mappings.pseudonym import load_key
    (tmp_path / "key").write_text("k" * 40 + "\n")
    monkeypatch.setenv("HARMONISE_PSEUDONYM_KEY_FILE", str(tmp_path / "key"))
    assert load_key() == b"k" * 40


README_QUERIES = [
    "SELECT center_id, count(*) AS patients FROM v_patient GROUP BY ALL ORDER BY 1",
    "SELECT CASE WHEN is_asps THEN 'ASPS' ELSE 'non-ASPS' END AS grp, count(*) AS n, "
    "sum(objective_response::INT) AS responders, round(100 * avg(objective_response::INT), 1) AS orr_pct "
    "FROM v_response GROUP BY ALL ORDER BY 1",
    "SELECT term_label, worst_grade, count(*) AS patients FROM v_adverse_event_worst "
    "GROUP BY ALL ORDER BY 1, 2",
]


def test_readme_example_queries_run_on_the_demo_warehouse(demo_warehouse):
    from harmonise.flows.settings import PROJECT_ROOT
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for query in README_QUERIES:
        assert query in readme.replace("\n  ", " ").replace("\n", " ")
        result = runner.invoke(app, ["sql", query, "--warehouse", str(demo_warehouse)],
                               env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sql", README_QUERIES[0], "--warehouse", str(demo_warehouse)],
                           env={"COLUMNS": "200"})
    assert "site_a" in result.output and "52" in result.output


def test_sql_errors_are_reported_not_raised(demo_warehouse):
    result = runner.invoke(app, ["sql", "SELECT nope FROM v_patient", "--warehouse", str(demo_warehouse)])
    assert result.exit_code == 1 and "SQL error" in result.output


def test_prefect_is_kept_local_quiet_and_out_of_the_home_folder(monkeypatch, tmp_path):
    from harmonise.flows import prefect_env
    for name in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_HOME"):
        monkeypatch.delenv(name, raising=False)
    prefect_env.configure(tmp_path / "prefect")
    import os
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert (tmp_path / "prefect").is_dir()


def test_a_users_own_prefect_home_is_respected(monkeypatch, tmp_path):
    from harmonise.flows import prefect_env
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    prefect_env.configure(tmp_path / "project")
    import os
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "mine")


def test_report_command_writes_html_figures_and_numbers(demo_warehouse, tmp_path):
    result = runner.invoke(app, ["report", "--warehouse", str(demo_warehouse), "--out", str(tmp_path / "r"),
                                 "--transform", "log-log"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").is_file()
    assert list((tmp_path / "r" / "figures").glob("*.svg"))
    assert (tmp_path / "r" / "numbers" / "report.json").is_file()
    assert "log-log" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_report_command_refuses_an_unknown_transform(demo_warehouse, tmp_path):
    result = runner.invoke(app, ["report", "--warehouse", str(demo_warehouse), "--transform", "logit"])
    assert result.exit_code == 2 and "log, log-log, plain" in result.output
