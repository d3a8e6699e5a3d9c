"""`harmonise check` (a dry run) and the three onboarding commands' behaviour and errors."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from harmonise.flows import onboarding
from harmonise.flows.onboarding import check_center
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, PROJECT_ROOT, Settings
from tests.conftest import patients_mapping

runner = CliRunner()

MAPPING = patients_mapping("""\
      MRN: {identifier: pseudonymise}
      Name: {identifier: drop}
      Sex: {to: patient.sex, vocab: sex}
      Age: {to: patient.age_years}
      Histology: {to: patient.histology, vocab: histology}
      Site: {to: patient.primary_site, vocab: primary_site}
      Lung: {to: patient.lung_metastasis}
      Other: {to: patient.other_metastasis}
      ECOG: {to: patient.ecog}
      Prior: {to: patient.prior_lines}
      Line: {to: treatment.line_of_therapy}
      Start: {to: treatment.start_date}
      PD1: {to: treatment.immunotherapy_agent, vocab: agent}
      Reason: {to: treatment.discontinuation_reason, vocab: discontinuation_reason}
      End: {to: treatment.end_date}
      BOR: {to: outcome.best_response, vocab: best_response}
      Last: {to: outcome.last_followup_date}
    constants:
      treatment.course_no: 1
""")


def _row(i, **change):
    row = {"MRN": f"HN{i:04d}", "Name": f"王{i}", "Sex": "F", "Age": "50", "Histology": "ASPS",
           "Site": "Trunk", "Lung": "Y", "Other": "N", "ECOG": "1", "Prior": "1", "Line": "2",
           "Start": "2022-01-10", "PD1": "Tyvyt", "Reason": "Ongoing", "End": "", "BOR": "PR",
           "Last": "2023-01-10"}
    return {**row, **change}


@pytest.fixture
def center(tmp_path):
    """A small center ``x_site`` in tmp: write(rows) puts its export and mapping in place."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "x_site.yaml").write_text(MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox" / "x_site"
    inbox.mkdir(parents=True)
    settings = Settings(home=tmp_path / "home", inbox=tmp_path / "inbox", mappings_dir=mappings,
                        demo_key=True)

    def write(rows):
        pd.DataFrame(rows).to_csv(inbox / "p.csv", index=False)
        return settings
    return write


def test_a_clean_center_exits_0_with_a_preview_of_truncated_keys_and_nothing_written(center):
    settings = center([_row(i) for i in range(7)])
    report = check_center("x_site", settings)
    assert report.ok and report.exit_code == 0
    assert (report.patients, report.rows_read, report.rows_quarantined) == (7, 7, 0)
    assert len(report.preview) == 5
    assert report.preview["patient_key"].str.fullmatch(r"[0-9a-f]{8}…").all()
    assert list(report.preview["immunotherapy_agent"]) == ["sintilimab"] * 5
    assert not settings.warehouse.exists()                      # a dry run writes nothing


def test_unknown_values_are_counted_and_suggested(center):
    rows = [_row(0, PD1="達伯舒"), _row(1, PD1="達伯舒"), _row(2, Histology="Sarcoma Q"), _row(3)]
    report = check_center("x_site", center(rows))
    assert report.exit_code == 1
    found = {(u.column, u.value): (u.vocabulary, u.rows, u.suggestion) for u in report.unknown_values}
    assert found[("PD1", "達伯舒")][:2] == ("agent", 2)
    assert found[("PD1", "達伯舒")][2].startswith("sintilimab?")
    assert found[("Histology", "Sarcoma Q")][:2] == ("histology", 1)


def test_quarantined_rows_are_grouped_by_reason_with_at_most_three_examples(center):
    rows = [_row(i, Age="15") for i in range(5)] + [_row(9, Start="10/01/2022"), _row(10)]
    report = check_center("x_site", center(rows))
    groups = {(g.check, g.column): g for g in report.problems}
    too_young = groups[("greater_than_or_equal_to(18)", "Age")]
    assert too_young.rows == 5 and len(too_young.examples) == 3
    assert [(e.file, e.row, e.value) for e in too_young.examples] == [("p.csv", 2, "15"), ("p.csv", 3, "15"),
                                                                      ("p.csv", 4, "15")]
    assert "must be at least 18" in too_young.reason
    assert groups[("date_format", "Start")].examples[0].value == "10/01/2022"
    assert report.rows_quarantined == 6 and report.patients == 1


def test_identifier_values_are_never_shown(center):
    rows = [_row(0, MRN="", Name="张三丰"), _row(1)]
    report = check_center("x_site", center(rows))
    missing_key = [g for g in report.problems if g.column == "MRN"]
    assert missing_key and all(e.value is None for g in missing_key for e in g.examples)
    out = _render(report)
    assert "张三丰" not in out and "HN0001" not in out


def test_a_structural_problem_is_reported_with_its_message_and_exit_1(center, tmp_path):
    settings = center([_row(0)])
    (tmp_path / "inbox" / "x_site" / "p.csv").unlink()
    report = check_center("x_site", settings)
    assert report.exit_code == 1 and "the export file is missing" in report.structural[0]


def test_a_mapping_mistake_is_reported_with_line_and_did_you_mean(center, tmp_path):
    settings = center([_row(0)])
    path = tmp_path / "mappings" / "x_site.yaml"
    path.write_text(MAPPING.replace("vocab: sex", "vocabb: sex"), encoding="utf-8")
    report = check_center("x_site", settings)
    assert "line 8" in report.structural[0] and "Did you mean 'vocab'" in report.structural[0]


def test_an_undeclared_column_is_a_structural_problem_naming_it(center, tmp_path):
    settings = center([{**_row(0), "Phone": "13912345678"}])
    report = check_center("x_site", settings)
    assert "does not declare" in report.structural[0] and "Phone" in report.structural[0]
    assert "13912345678" not in _render(report)


def test_without_a_key_a_throwaway_one_is_used_and_said(center, monkeypatch):
    settings = center([_row(0)])
    settings = Settings(home=settings.home, inbox=settings.inbox, mappings_dir=settings.mappings_dir)
    report = check_center("x_site", settings)
    assert report.ok and "throwaway key" in report.key_note


def test_a_workbook_read_twice_names_the_sheet_and_counts_both_sheets(tmp_path):
    mappings = tmp_path / "mappings"
    shutil.copytree(DEMO_MAPPINGS, mappings)
    shutil.copy(PROJECT_ROOT / "demo" / "site_d" / "site_d.yaml", mappings / "site_d.yaml")
    inbox = tmp_path / "inbox" / "site_d"
    inbox.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "demo" / "site_d" / "export" / "site_d_export.xlsx", inbox)
    text = (mappings / "site_d.yaml").read_text(encoding="utf-8").replace(", values: {Diarrhoea: gastrointestinal_reaction}", "")
    (mappings / "site_d.yaml").write_text(text, encoding="utf-8")
    report = check_center("site_d", Settings(home=tmp_path, inbox=tmp_path / "inbox", mappings_dir=mappings,
                                             demo_key=True))
    assert report.rows_read == 11 + 23                          # both sheets of the one workbook
    assert {u.file for u in report.unknown_values} == {"site_d_export.xlsx [不良反应]"}
    assert report.rows_quarantined == 3 and report.patients == 11


def _render(report) -> str:
    import io

    from rich.console import Console
    buffer = io.StringIO()
    onboarding.render_check(report, Console(file=buffer, width=160))
    return buffer.getvalue()


def test_the_last_line_says_where_the_fixes_belong_from_the_rows_rules(center):
    too_young = check_center("x_site", center([_row(i, Age="15") for i in range(3)] + [_row(9)]))
    last = " ".join(_render(too_young).split()).rsplit("✗", 1)[1]
    assert "The fixes belong in the export;" in last and "mapping" not in last
    unknown = check_center("x_site", center([_row(0, Histology="Sarcoma Q"), _row(1)]))
    last = " ".join(_render(unknown).split()).rsplit("✗", 1)[1]
    assert "the mapping (" in last and "x_site.yaml" in last and "codes.yaml" in last


# -- the typer commands -------------------------------------------------------------------

@pytest.fixture
def app():
    app = typer.Typer()
    onboarding.register(app)
    return app


@pytest.mark.parametrize("name", ["profile", "new-center", "check"])
def test_every_onboarding_command_has_help_with_an_example(app, name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_profile_command_prints_the_profile(app):
    path = PROJECT_ROOT / "demo" / "site_d" / "export" / "site_d_export.xlsx"
    result = runner.invoke(app, ["profile", str(path)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "(hidden: looks like a phone number)" in result.output and "excel_serial" in result.output


def test_profile_command_on_a_missing_file_exits_2_with_what_to_do(app, tmp_path):
    result = runner.invoke(app, ["profile", str(tmp_path / "nope.csv")], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "Cannot profile" in result.output and "no such export file" in result.output


def test_profile_command_on_an_unreadable_file_exits_2(app, tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    result = runner.invoke(app, ["profile", str(tmp_path / "broken.xlsx")], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "cannot be opened" in result.output


@pytest.fixture
def example(tmp_path):
    """A user's copy of the reference study (`harmonise init --example`)."""
    from harmonise.flows.scaffold import init_project
    return init_project(tmp_path / "study", example=True)


def test_new_center_command_refuses_to_overwrite_a_mapping(app, example):
    before = (example / "mappings" / "site_a.yaml").read_bytes()
    result = runner.invoke(app, ["new-center", "site_a", str(DEMO_INBOX / "site_a" / "site_a_patients.csv"),
                                 "--project", str(example)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "already exists" in result.output and "--force" in result.output
    assert (example / "mappings" / "site_a.yaml").read_bytes() == before


def test_new_center_command_refuses_an_invalid_center_id(app, example):
    result = runner.invoke(app, ["new-center", "Site D", str(DEMO_INBOX / "site_a" / "site_a_patients.csv"),
                                 "--project", str(example)], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "not a valid center id" in result.output
    assert not (example / "mappings" / "Site D.yaml").exists()


def test_new_center_command_needs_a_project_and_never_writes_into_the_package(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARMONISE_PROJECT", raising=False)
    result = runner.invoke(app, ["new-center", "site_d", str(DEMO_INBOX / "site_a" / "site_a_patients.csv")],
                           env={"COLUMNS": "300"})
    assert result.exit_code == 4 and "harmonise init" in result.output
    assert not (DEMO_MAPPINGS / "site_d.yaml").exists()


def test_new_center_command_writes_the_draft_and_says_what_is_next(app, example, monkeypatch):
    export = PROJECT_ROOT / "demo" / "site_d" / "export" / "site_d_export.xlsx"
    monkeypatch.chdir(example)
    result = runner.invoke(app, ["new-center", "site_d", str(export)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (example / "mappings" / "site_d.yaml").is_file()
    assert "6 TODO(s)" in result.output and "harmonise check site_d" in result.output
    assert "put the export file(s) in" in result.output      # the export is not in the inbox yet


def test_check_command_exit_status_follows_the_report(app):
    clean = runner.invoke(app, ["check", "site_b", "--inbox", str(DEMO_INBOX), "--demo"])
    assert clean.exit_code == 0, clean.output
    assert "would load cleanly" in clean.output
    missing = runner.invoke(app, ["check", "site_zz", "--inbox", str(DEMO_INBOX), "--demo"],
                            env={"COLUMNS": "300"})
    assert missing.exit_code == 1 and "no mapping file for this center" in missing.output


def test_check_center_reads_the_bundled_demo_centers_cleanly():
    for center in ("site_a", "site_c"):
        report = check_center(center, Settings.demo())
        assert report.ok, (center, report.structural, report.problems)


def test_the_doc_example_commands_match_the_registered_names():
    text = (PROJECT_ROOT / "docs" / "adding-a-center.md").read_text(encoding="utf-8")
    for name in onboarding.COMMANDS:
        assert f"harmonise {name} " in text


def test_onboarding_module_runs_as_a_program(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "harmonise.flows.onboarding", "--help"], capture_output=True,
                            text=True, cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 0 and "new-center" in result.stdout


