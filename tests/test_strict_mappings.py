"""Strict mappings and confined paths: duplicate keys, two sources for one target, paths out."""
from __future__ import annotations

import os
import shutil

import pytest

from harmonise.flows import steps
from harmonise.flows.settings import DEMO_MAPPINGS, Settings
from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import load_mapping


def _mapping(tmp_path, text: str, center: str = "site_a"):
    (tmp_path / f"{center}.yaml").write_text(text, encoding="utf-8")
    return lambda: load_mapping(center, tmp_path)


SITE_A = (DEMO_MAPPINGS / "site_a.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str, start: int = 0) -> int:
    return text[:text.index(needle, start)].count("\n") + 1


def test_a_duplicate_column_key_is_an_error_naming_both_lines(tmp_path):
    text = SITE_A.replace("      Comments: drop", "      Comments: drop\n      Patient name: {to: patient.histology}")
    with pytest.raises(MappingError) as caught:
        _mapping(tmp_path, text)()
    first = _line_of(text, "Patient name:")
    second = _line_of(text, "Patient name:", text.index("Patient name:") + 1)
    assert f"line {first} and line {second}" in caught.value.message
    assert "'Patient name' is given twice" in caught.value.message


def test_two_source_columns_for_one_target_is_an_error_naming_both(tmp_path):
    text = SITE_A.replace("Prior systemic lines: {to: patient.prior_lines}",
                          "Prior systemic lines: {to: patient.ecog}")
    with pytest.raises(MappingError) as caught:
        _mapping(tmp_path, text)()
    message = caught.value.message
    assert "'ECOG'" in message and "'Prior systemic lines'" in message and "patient.ecog" in message
    assert f"line {_line_of(text, 'ECOG:')}" in message
    assert f"line {_line_of(text, 'Prior systemic lines:')}" in message


@pytest.mark.parametrize("name", ["/etc/passwd", "../site_b/site_b_export.xlsx", "sub/../../x.csv",
                                  "~/x.csv", "C:\\\\data\\\\x.csv"])
def test_a_file_name_outside_the_center_folder_is_refused(tmp_path, name):
    text = SITE_A.replace("name: site_a_patients.csv", f"name: '{name}'")
    with pytest.raises(MappingError, match="points outside the center's inbox folder"):
        _mapping(tmp_path, text)()


def _ingest_site_a(settings) -> steps.CenterResult:
    steps.prepare_warehouse(settings)
    return steps.ingest_center("site_a", settings, steps.new_run_id(), steps.pseudonym_key(settings))


def test_a_symlinked_export_is_refused_unless_the_project_allows_it(tmp_path, inbox_copy):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    export = inbox_copy / "site_a" / "site_a_patients.csv"
    shutil.move(export, elsewhere / export.name)
    os.symlink(elsewhere / export.name, export)
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, demo_key=True)
    result = _ingest_site_a(settings)
    assert result.status == "failed" and "symbolic link" in result.message
    allowed = Settings(home=tmp_path / "home", inbox=inbox_copy, demo_key=True, allow_symlinks=True)
    assert _ingest_site_a(allowed).status == "loaded"


def test_a_symlinked_center_folder_is_refused(tmp_path, inbox_copy):
    shutil.move(inbox_copy / "site_a", tmp_path / "other_folder")
    os.symlink(tmp_path / "other_folder", inbox_copy / "site_a")
    settings = Settings(home=tmp_path / "home", inbox=inbox_copy, demo_key=True)
    result = _ingest_site_a(settings)
    assert result.status == "failed" and "symbolic link" in result.message
