"""CLI conventions: --version, completion, --json/--csv, --quiet/--verbose, exit codes, validation."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from harmonise.flows.cli import app
from harmonise.flows.cli_options import ExitCode
from harmonise.flows.nightly import build_deployment
from harmonise.flows.settings import Settings

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _commands() -> dict:
    return typer.main.get_command(app).commands


def test_version_prints_the_installed_version():
    import importlib.metadata
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"harmonise {importlib.metadata.version('harmonise')}"


def test_shell_completion_is_offered():
    result = runner.invoke(app, ["--help"], env=WIDE)
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_every_command_has_an_example_and_exits_2_only_on_a_usage_error():
    names = sorted(_commands())
    assert {"run", "ingest", "report", "serve", "status", "sql", "check"} <= set(names)
    for name in names:
        helped = runner.invoke(app, [name, "--help"], env=WIDE)
        assert helped.exit_code == 0 and "Example" in helped.output, name
        wrong = runner.invoke(app, [name, "--no-such-option"], env=WIDE)
        assert wrong.exit_code == ExitCode.USAGE, (name, wrong.output)
        assert "No such option" in wrong.output, name


def test_every_command_that_prints_a_table_offers_json_and_csv():
    for name in ("status", "quality", "check", "profile"):
        params = {p.name for p in _commands()[name].params}
        assert {"json", "csv"} <= params, name


def test_run_and_ingest_offer_quiet_and_verbose():
    for name in ("run", "ingest", "report", "serve"):
        params = {p.name for p in _commands()[name].params}
        assert {"quiet", "verbose"} <= params, name


def test_a_bad_cutoff_is_a_one_line_usage_error_not_a_traceback(tmp_path):
    result = runner.invoke(app, ["run", "--demo", "--cutoff", "2024/05/25",
                                 "--warehouse", str(tmp_path / "w.duckdb")], env=WIDE)
    assert result.exit_code == ExitCode.USAGE
    assert "'2024/05/25' is not a date in the form YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 4
    assert not (tmp_path / "w.duckdb").exists()


def test_a_missing_inbox_folder_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["run", "--demo", "--inbox", str(tmp_path / "nope")], env=WIDE)
    assert result.exit_code == ExitCode.USAGE and "does not exist" in result.output


def test_quiet_and_verbose_together_are_a_usage_error(tmp_path):
    result = runner.invoke(app, ["run", "--demo", "-q", "-v"], env=WIDE)
    assert result.exit_code == ExitCode.USAGE and "--quiet and --verbose" in result.output


def test_commands_that_need_a_warehouse_exit_4_with_what_to_do(tmp_path):
    missing = str(tmp_path / "none.duckdb")
    for args in (["status"], ["quality"], ["report"], ["sql", "SELECT 1"]):
        result = runner.invoke(app, [*args, "--warehouse", missing], env=WIDE)
        assert result.exit_code == ExitCode.CANNOT_START, args
        assert "run `harmonise run` first" in result.stderr, args


def test_status_prints_json_and_csv(demo_warehouse):
    as_json = runner.invoke(app, ["status", "--warehouse", str(demo_warehouse), "--json"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.stdout)
    assert sorted(r["center"] for r in records) == ["site_a", "site_b", "site_c"]
    assert {r["status"] for r in records} == {"loaded"} and all(r["rows read"] > 0 for r in records)
    as_csv = runner.invoke(app, ["status", "--warehouse", str(demo_warehouse), "--csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["center"] for r in rows] == ["site_a", "site_b", "site_c"]
    both = runner.invoke(app, ["status", "--warehouse", str(demo_warehouse), "--csv", "--json"])
    assert both.exit_code == ExitCode.USAGE


def test_the_report_of_another_warehouse_goes_beside_it_not_over_the_homes(tmp_path):
    home = Settings(home=tmp_path / "home")
    assert home.report_dir == tmp_path / "home" / "report"
    other = Settings(home=tmp_path / "home", warehouse=tmp_path / "trial" / "w2.duckdb")
    assert other.report_dir == tmp_path / "trial" / "w2-report"


def test_the_cron_time_zone_is_explicit_and_configurable():
    assert [s.schedule.timezone for s in build_deployment().schedules] == ["UTC"]
    paris = build_deployment(cron="0 2 * * *", timezone="Europe/Paris")
    assert [(s.schedule.cron, s.schedule.timezone) for s in paris.schedules] == [("0 2 * * *", "Europe/Paris")]


def test_serve_refuses_an_unknown_time_zone():
    result = runner.invoke(app, ["serve", "--timezone", "Mars/Olympus"], env=WIDE)
    assert result.exit_code == ExitCode.USAGE and "not a known time zone" in result.output


def test_ingest_force_help_speaks_of_this_center():
    result = runner.invoke(app, ["ingest", "--help"], env=WIDE)
    assert "Reload this center" in result.output and "every center" not in result.output


def test_check_prints_what_is_left_to_fix_as_json(inbox_copy):
    import csv as csvlib
    path = inbox_copy / "site_a" / "site_a_patients.csv"
    rows = list(csvlib.reader(path.open(encoding="utf-8", newline="")))
    rows[3][rows[0].index("Sex")] = "Mannelijk"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csvlib.writer(fh).writerows(rows)
    result = runner.invoke(app, ["check", "site_a", "--demo", "--inbox", str(inbox_copy), "--json"])
    assert result.exit_code == ExitCode.PROBLEMS, result.output
    records = json.loads(result.stdout)
    assert {"kind": "unknown value", "file": "site_a_patients.csv", "column": "Sex",
            "rule": "vocabulary sex", "rows": 1} in [{k: r[k] for k in ("kind", "file", "column", "rule", "rows")}
                                                     for r in records]
    clean = runner.invoke(app, ["check", "site_b", "--demo", "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout) == []


def test_profile_prints_one_row_per_column_as_json_without_identifier_values():
    from harmonise.flows.settings import DEMO_INBOX
    result = runner.invoke(app, ["profile", str(DEMO_INBOX / "site_a" / "site_a_patients.csv"), "--json"])
    assert result.exit_code == 0, result.output
    records = {r["column"]: r for r in json.loads(result.stdout)}
    assert records["Sex"]["type"] == "text" and "Male" in records["Sex"]["most frequent"]
    assert records["Phone"]["identifier"] == "phone" and records["Phone"]["most frequent"] is None
