"""The wheel carries everything the tool reads: each data file (YAML, SQL, templates, the example
project's exports) of a stage folder is declared as package data in pyproject.toml. The real
install is tried end to end by .ci/wheel-smoke (a fresh venv outside the checkout)."""
from __future__ import annotations

import tomllib
from pathlib import Path

from harmonise.flows.settings import PROJECT_ROOT, default_home, is_source_checkout

IGNORED = {"__pycache__", "var"}


def _config() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_data_file_of_a_stage_folder_ships_as_package_data():
    config = _config()
    shipped, missing = set(), []
    for package, patterns in config["package-data"].items():
        folder = PROJECT_ROOT / config["package-dir"][package]
        for pattern in patterns:
            shipped |= set(folder.glob(pattern))
    for package in config["packages"]:
        folder = PROJECT_ROOT / config["package-dir"][package]
        for path in folder.rglob("*"):
            parts = set(path.relative_to(folder).parts)
            if path.is_file() and path.suffix not in (".py", ".pyc") and not parts & IGNORED:
                if path not in shipped:
                    missing.append(str(path.relative_to(PROJECT_ROOT)))
    assert not missing, f"not declared in [tool.setuptools.package-data]: {sorted(set(missing))}"


def test_the_example_project_ships_with_its_mappings_exports_and_settings():
    config = _config()
    patterns = config["package-data"]["harmonise.demo"]
    demo = PROJECT_ROOT / "demo"
    shipped = {p.relative_to(demo).as_posix() for pattern in patterns for p in demo.glob(pattern)}
    for needed in ("study/harmonise.yaml", "study/mappings/site_a.yaml", "study/inbox/site_b/site_b_export.xlsx"):
        assert needed in shipped, needed


def test_the_default_home_is_never_inside_an_installed_package(monkeypatch, tmp_path):
    monkeypatch.delenv("HARMONISE_HOME", raising=False)
    assert is_source_checkout() and default_home() == PROJECT_ROOT / "var"   # make demo: var/ of the checkout
    import harmonise.flows.settings as settings
    monkeypatch.setattr(settings, "PACKAGE_ROOT", tmp_path / "site-packages" / "harmonise")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert settings.default_home() == tmp_path / "state" / "harmonise" / "demo"
