"""The study project folder: found like git finds its repository, harmonise.yaml read into
typed Settings with errors that name file, line and key, `harmonise init [--example]`, study
vocabularies that add spellings, and the demo kept apart from any user's project."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.project import ProjectError, file_options, find_project, load_project, resolve
from harmonise.flows.scaffold import init_project
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, DEMO_PROJECT, Settings
from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import load_mapping
from tests.conftest import ingest_all

runner = CliRunner()
WIDE = {"COLUMNS": "300"}


@pytest.fixture
def example(tmp_path) -> Path:
    """`harmonise init --example` in a fresh folder."""
    return init_project(tmp_path / "study", example=True)


def _write(project: Path, text: str) -> Path:
    (project / "harmonise.yaml").write_text(text, encoding="utf-8")
    return project


# -- discovery ------------------------------------------------------------------------------

def test_the_project_is_found_in_the_current_folder_or_above(example, monkeypatch):
    monkeypatch.delenv("HARMONISE_PROJECT", raising=False)
    deep = example / "mappings"
    assert find_project(cwd=deep) == example
    assert find_project(cwd=example.parent) is None


def test_project_option_beats_the_variable_which_beats_the_current_folder(example, tmp_path, monkeypatch):
    other = init_project(tmp_path / "other")
    monkeypatch.setenv("HARMONISE_PROJECT", str(other))
    assert find_project(cwd=example) == other
    assert find_project(example, cwd=other) == example


def test_a_named_folder_that_is_not_a_project_is_refused_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONISE_PROJECT", str(tmp_path))
    with pytest.raises(ProjectError, match="HARMONISE_PROJECT.*harmonise init"):
        find_project()


def test_run_outside_any_project_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARMONISE_PROJECT", raising=False)
    result = runner.invoke(app, ["run"], env=WIDE)
    assert result.exit_code == 4
    assert "No harmonise project here" in result.output and "harmonise init" in result.output


# -- harmonise.yaml -------------------------------------------------------------------------

def test_the_example_project_reads_into_typed_settings_relative_to_its_folder(example):
    settings = load_project(example)
    assert settings.cutoff == dt.date(2024, 5, 25) and settings.demo_key is True
    assert settings.inbox == example / "inbox" and settings.warehouse == example / "var" / "warehouse.duckdb"
    assert settings.report_dir == example / "var" / "report" and settings.prefect_home == example / "var" / "prefect"
    assert settings.mappings_dir == example / "mappings" and settings.vocab_dir == example / "vocab"
    assert settings.plan_file == example / "plan.yaml" and settings.small_cell_threshold == 5
    assert settings.figure_formats == ("svg",)


def test_figure_formats_are_a_list_of_svg_and_png(tmp_path):
    settings = load_project(_write(tmp_path, "study: s\nreport: {figure_formats: [svg, png]}\n"))
    assert settings.figure_formats == ("svg", "png")


def test_every_key_of_the_empty_projects_template_is_a_known_setting(tmp_path):
    project = init_project(tmp_path / "fresh")
    settings = load_project(project)
    assert settings.key_env == "HARMONISE_PSEUDONYM_KEY" and settings.cutoff == dt.date.today()
    assert settings.study == "fresh" and settings.warehouse == project / "var" / "warehouse.duckdb"
    text = (project / "harmonise.yaml").read_text(encoding="utf-8")
    for key in ("paths.warehouse", "paths.report", "paths.prefect", "schedule.timezone", "storage.backend"):
        assert key in file_options() and key.rsplit(".", 1)[1] + ":" in text, key   # commented, documented


def test_an_unknown_key_is_refused_naming_file_line_and_the_near_miss(example):
    text = (example / "harmonise.yaml").read_text(encoding="utf-8")
    _write(example, text.replace("  warehouse: var/", "  warehose: var/"))
    with pytest.raises(ProjectError) as caught:
        load_project(example)
    message = str(caught.value)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "warehouse: var/" in t)
    assert str(example / "harmonise.yaml") in message and f"line {line}" in message
    assert "key 'paths.warehose'" in message and "Did you mean 'paths.warehouse'?" in message


@pytest.mark.parametrize("line, expected", [
    ("cutoff: 25.05.2024", "Write it as YYYY-MM-DD"),
    ("report: {small_cell_threshold: 0}", "at least 1"),
    ("report: {small_cell_threshold: five}", "not a whole number"),
    ("report: {figure_formats: [svg, pdf]}", "not a list of svg, png"),
    ("report: {figure_formats: []}", "not a list of svg, png"),
    ("pseudonym: {demo_key: yes please}", "not true or false"),
    ("pseudonym: {key: 0123456789abcdef0123456789abcdef}", "Never write the pseudonymisation key"),
    ("pseudonym: {key_env: 0123456789abcdef0123456789abcdef}", "never the key itself"),
    ("pseudonym: {key_env: STUDY_KEY, demo_key: true}", "are both set"),
    ("paths: [inbox]", "unknown key"),
])
def test_a_wrong_value_is_refused_with_a_hint(tmp_path, line, expected):
    project = _write(tmp_path, f"study: s\n{line}\n")
    with pytest.raises(ProjectError, match=expected):
        load_project(project)


def test_the_key_comes_from_where_the_project_says(tmp_path, monkeypatch):
    key_file = tmp_path / "study.key"
    key_file.write_text("k" * 40 + "\n", encoding="utf-8")
    by_file = load_project(_write(tmp_path, f"study: s\npseudonym: {{key_file: {key_file.name}}}\n"))
    assert by_file.key_file == key_file and steps.pseudonym_key(by_file) == b"k" * 40
    by_env = load_project(_write(tmp_path, "study: s\npseudonym: {key_env: STUDY_KEY}\n"))
    monkeypatch.delenv("STUDY_KEY", raising=False)
    with pytest.raises(Exception, match="STUDY_KEY, which is not set"):
        steps.pseudonym_key(by_env)
    monkeypatch.setenv("STUDY_KEY", "s" * 40)
    assert steps.pseudonym_key(by_env) == b"s" * 40


def test_command_line_options_override_the_project_file(example):
    settings = load_project(example, cutoff=dt.date(2024, 1, 1))
    assert settings.cutoff == dt.date(2024, 1, 1) and settings.inbox == example / "inbox"


# -- init -----------------------------------------------------------------------------------

def test_init_never_overwrites(example):
    before = (example / "harmonise.yaml").read_bytes()
    result = runner.invoke(app, ["init", str(example)], env=WIDE)
    assert result.exit_code == 2 and "not empty" in result.output
    assert (example / "harmonise.yaml").read_bytes() == before


def test_init_example_copies_the_packaged_study_and_keeps_exports_out_of_git(example):
    shipped = sorted(p.relative_to(DEMO_PROJECT) for p in DEMO_PROJECT.rglob("*") if p.is_file()
                     and "var" not in p.relative_to(DEMO_PROJECT).parts)
    copied = sorted(p.relative_to(example) for p in example.rglob("*") if p.is_file())
    assert copied == sorted([*shipped, Path(".gitignore")])
    ignored = (example / ".gitignore").read_text(encoding="utf-8").split()
    assert {"inbox/", "var/"} <= set(ignored)


# -- study vocabularies ---------------------------------------------------------------------

def test_a_study_vocab_adds_a_spelling_that_then_loads(example):
    patients = example / "inbox" / "site_a" / "site_a_patients.csv"
    frame = pd.read_csv(patients, dtype=str, keep_default_na=False)
    frame.loc[0, "Sex"] = "Vrouw" if frame.loc[0, "Sex"] == "Female" else "Mannelijk"
    frame.to_csv(patients, index=False)
    settings = load_project(example)
    without = steps.build_batch("site_a", settings, b"k" * 40)
    assert (without.quarantine["column_name"] == "sex").any()   # nobody knows the spelling yet
    (example / "vocab" / "sex.yaml").write_text("codes:\n  female: [Vrouw]\n  male: [Mannelijk]\n",
                                               encoding="utf-8")
    mapping = load_mapping("site_a", settings.mappings_dir, settings.vocab_dir)
    assert mapping.vocab_sha256                                      # a vocab change reloads the center
    batch = steps.build_batch("site_a", settings, b"k" * 40)
    assert not (batch.quarantine["column_name"] == "sex").any()
    assert len(batch.clean["patient"]) == 52


@pytest.mark.parametrize("file, text, expected", [
    ("sex.yaml", "codes:\n  female: [M]\n", "'M' already means 'male'"),
    ("sex.yaml", "codes:\n  unknown: [U]\n", "'unknown' is not a code of the vocabulary sex"),
    ("sexe.yaml", "codes:\n  female: [Femme]\n", "Did you mean sex.yaml"),
    ("boolean.yaml", "codes:\n  'true': [Oui, 'No']\n", "'No' already means 'false'"),
    ("boolean.yaml", "codes:\n  'true': [Oui, No]\n", "read as False. Quote it"),
])
def test_a_study_vocab_may_not_change_what_a_code_or_spelling_means(example, file, text, expected):
    (example / "vocab" / file).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=expected):
        load_mapping("site_a", example / "mappings", example / "vocab")


# -- the demo and a user's project stay apart -----------------------------------------------

def test_the_demo_never_reads_a_users_project(example, monkeypatch):
    (example / "mappings" / "site_e.yaml").write_text("center: site_e\n", encoding="utf-8")
    monkeypatch.chdir(example)
    monkeypatch.setenv("HARMONISE_PROJECT", str(example))
    demo = resolve(demo=True)
    assert demo.mappings_dir == DEMO_MAPPINGS and demo.inbox == DEMO_INBOX
    assert steps.centers_to_run(demo) == ["site_a", "site_b", "site_c"]
    assert example not in demo.warehouse.parents and DEMO_PROJECT not in demo.warehouse.parents
    assert Settings.demo().mappings_dir == DEMO_MAPPINGS


def test_a_fourth_center_added_to_a_project_loads_there_and_not_in_the_demo(example, tmp_path):
    _add_center(example, "site_e", like="site_c")
    settings = load_project(example, home=tmp_path / "state", warehouse=tmp_path / "state" / "w.duckdb")
    results = ingest_all(settings)
    assert {c: (r.status, r.patients_loaded) for c, r in results.items()} == {
        "site_a": ("loaded", 52), "site_b": ("loaded", 16), "site_c": ("loaded", 11), "site_e": ("loaded", 11)}
    assert steps.centers_to_run(Settings.demo()) == ["site_a", "site_b", "site_c"]


def _add_center(project: Path, center: str, like: str) -> None:
    """A real 4th center: a copy of one demo center's export and mapping under another name."""
    text = (project / "mappings" / f"{like}.yaml").read_text(encoding="utf-8")
    (project / "mappings" / f"{center}.yaml").write_text(
        text.replace(f"center: {like}", f"center: {center}").replace(f"{like}_", f"{center}_"), encoding="utf-8")
    target = project / "inbox" / center
    target.mkdir()
    for path in (project / "inbox" / like).iterdir():
        shutil.copy(path, target / path.name.replace(f"{like}_", f"{center}_"))


def test_an_empty_project_with_one_center_loads_and_reports_on_its_starting_plan(tmp_path, monkeypatch):
    project = init_project(tmp_path / "new_study")
    text = (project / "harmonise.yaml").read_text(encoding="utf-8")
    _write(project, text.replace(f"cutoff: {dt.date.today().isoformat()}", "cutoff: 2024-05-25"))
    shutil.copy(DEMO_MAPPINGS / "site_c.yaml", project / "mappings" / "site_c.yaml")
    shutil.copytree(DEMO_INBOX / "site_c", project / "inbox" / "site_c")
    monkeypatch.setenv("HARMONISE_PSEUDONYM_KEY", "k" * 40)        # where its harmonise.yaml says
    settings = load_project(project)
    results = ingest_all(settings)
    assert {c: (r.status, r.patients_loaded) for c, r in results.items()} == {"site_c": ("loaded", 11)}
    html = steps.write_report(settings)
    assert html == project / "var" / "report" / "report.html" and "Women vs men" in html.read_text(encoding="utf-8")


@pytest.mark.slow
def test_harmonise_run_in_a_project_loads_the_center_added_there(example, monkeypatch):
    _add_center(example, "site_e", like="site_b")
    monkeypatch.chdir(example / "inbox")                       # found from a subfolder, like git
    monkeypatch.delenv("HARMONISE_PROJECT", raising=False)
    result = runner.invoke(app, ["run"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "site_e: 16 patients loaded" in result.output and "DEMO MODE" in result.output
    assert (example / "var" / "warehouse.duckdb").is_file() and (example / "var" / "report").is_dir()
    status = runner.invoke(app, ["status", "--json"], env=WIDE)
    assert status.exit_code == 0 and "site_e" in status.output


def test_operations_doc_documents_every_project_file_key():
    from harmonise.flows.settings import PROJECT_ROOT
    text = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [key for key in file_options() if f"| `{key}` |" not in text]
    assert not missing, f"docs/operations.md, 'The project folder', lacks: {missing}"


def test_a_machine_variable_overrides_the_project_file_and_the_command_line_overrides_both(example, tmp_path,
                                                                                           monkeypatch):
    monkeypatch.setenv("HARMONISE_INBOX", str(tmp_path / "hospital_exports"))   # a hospital's worker
    assert load_project(example).inbox == tmp_path / "hospital_exports"
    assert load_project(example, inbox=tmp_path / "cli").inbox == tmp_path / "cli"
    monkeypatch.delenv("HARMONISE_INBOX")
    monkeypatch.chdir(example)
    from harmonise.flows.project import current
    assert current().inbox == example / "inbox" and current().project == example
