"""A study's project folder: found like git and dbt find theirs, read into ``Settings``.

A project is a folder holding ``harmonise.yaml``::

    harmonise.yaml     study name, cut-off, paths, where the pseudonym key comes from
    mappings/          one <center>.yaml per center (the mapping language)
    vocab/             spellings the study adds to the built-in vocabularies
    codes.yaml         codes the study adds to the built-in code lists (an agent, a histology...)
    plan.yaml          the analysis plan
    inbox/<center>/    each center's export files (paths.inbox)

``find_project`` looks at ``--project DIR``, else ``HARMONISE_PROJECT``, else the current
directory and its parents. ``load_project`` turns the file into ``Settings``: the keys it
accepts are the ``option(...)`` fields of ``Settings`` (said once there); an unknown key, a
wrong type or a key written in place of where the key lives is refused with the file, the
line, the key and a hint. Paths are relative to the project folder.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import typing
from pathlib import Path

import yaml

from harmonise.flows.settings import DEMO_PROJECT, Settings, default_home
from harmonise.schemas.study_codes import STUDY_CODES_FILE

PROJECT_FILE = "harmonise.yaml"
PROJECT_ENV = "HARMONISE_PROJECT"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Keys that look like the key itself: never in a file that may be shared or committed.
SECRET_KEYS = {"key", "secret", "pseudonym_key", "value", "password"}


class ProjectError(Exception):
    """harmonise.yaml (or the project folder) is not usable; the message says what to do."""

    def __init__(self, message: str, *, file: Path | None = None, key: str | None = None,
                 line: int | None = None, hint: str | None = None):
        where = ", ".join(x for x in (str(file) if file else None,
                                      f"line {line}" if line else None,
                                      f"key '{key}'" if key else None) if x)
        text = f"{where}: {message}" if where else message
        super().__init__(f"{text}. {hint}" if hint else text)
        self.file, self.key, self.line, self.hint = file, key, line, hint


def find_project(explicit: str | Path | None = None, cwd: Path | None = None) -> Path | None:
    """The project folder: ``explicit``, else ``$HARMONISE_PROJECT``, else the nearest folder
    at or above ``cwd`` holding ``harmonise.yaml``; None when there is none.

    A folder named explicitly (option or variable) must be a project: ProjectError otherwise.
    """
    named = explicit or os.environ.get(PROJECT_ENV)
    if named:
        root = Path(named).expanduser().resolve()
        source = "--project" if explicit else PROJECT_ENV
        if not (root / PROJECT_FILE).is_file():
            raise ProjectError(f"{root} is not a harmonise project (no {PROJECT_FILE} in it)",
                               hint=f"Check {source}, or create one with `harmonise init {named}`.")
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def no_project_message(cwd: Path | None = None) -> str:
    here = (cwd or Path.cwd()).resolve()
    return (f"No harmonise project here: neither {here} nor a folder above it holds {PROJECT_FILE}. "
            f"Create one with `harmonise init DIR` (or `harmonise init --example DIR` for the "
            f"reference study), pass --project DIR or set {PROJECT_ENV}; `--demo` runs the bundled demo.")


#: Variables a machine may set to override the project file for itself (e.g. a hospital's
#: worker reads its own inbox): command line > variable > harmonise.yaml > default.
ENV_OVERRIDES = {"inbox": "HARMONISE_INBOX", "warehouse": "HARMONISE_WAREHOUSE",
                 "storage": "HARMONISE_STORAGE", "lake_catalog": "HARMONISE_LAKE_CATALOG",
                 "lake_data_path": "HARMONISE_LAKE_DATA"}


def load_project(root: str | Path, **overrides) -> Settings:
    """The settings of the project in ``root``; ``overrides`` (e.g. from the command line) win,
    then the variables of ``ENV_OVERRIDES``, then ``harmonise.yaml``."""
    root = Path(root).resolve()
    values = read_project_file(root / PROJECT_FILE)
    for name, variable in ENV_OVERRIDES.items():
        if os.environ.get(variable):
            values[name] = Path(os.environ[variable]) if name in ("inbox", "warehouse", "lake_data_path") \
                else os.environ[variable]
    values.setdefault("home", root / "var")
    values.setdefault("inbox", root / "inbox")
    return Settings(**{**values, "project": root, "mappings_dir": root / "mappings",
                       "vocab_dir": root / "vocab", "codes_file": root / STUDY_CODES_FILE,
                       "plan_file": root / "plan.yaml", **overrides})


def current(**overrides) -> Settings:
    """The project found from here (``HARMONISE_PROJECT``, the current folder or above), else the
    library defaults: for code that runs where no command line chose (e.g. a hospital's worker)."""
    root = find_project()
    return load_project(root, **overrides) if root is not None else Settings(**overrides)


def demo_settings(**overrides) -> Settings:
    """The bundled example project, read in place (its mappings, inbox, plan); its state
    (warehouse, report, Prefect, logs) under ``default_home()``, never inside the package."""
    values = read_project_file(DEMO_PROJECT / PROJECT_FILE)
    for state in ("home", "warehouse", "report", "prefect"):
        values.pop(state, None)
    return Settings(**{**values, "home": default_home(), "inbox": DEMO_PROJECT / "inbox",
                       "project": DEMO_PROJECT, "mappings_dir": DEMO_PROJECT / "mappings",
                       "vocab_dir": DEMO_PROJECT / "vocab", "codes_file": DEMO_PROJECT / STUDY_CODES_FILE,
                       "plan_file": DEMO_PROJECT / "plan.yaml",
                       **overrides})


def resolve(project: str | Path | None = None, demo: bool = False, required: bool = True,
            **overrides) -> Settings:
    """The settings of one command: the demo, or the project found by ``find_project``.

    Without a project, a command that needs one (``required``) raises ProjectError saying how
    to make one; a read-only command (status, sql, report) looks at the demo's state instead.
    """
    if demo:
        return demo_settings(**overrides)
    root = find_project(project)
    if root is not None:
        return load_project(root, **overrides)
    if required:
        raise ProjectError(no_project_message())
    return demo_settings(**overrides)


# -- harmonise.yaml -> typed field values ------------------------------------------------------

def file_options() -> dict[str, dataclasses.Field]:
    """``{"section.key": field}`` of every Settings field a project file may set."""
    return {f.metadata["key"]: f for f in dataclasses.fields(Settings) if "key" in f.metadata}


def read_project_file(path: Path) -> dict[str, object]:
    """``{Settings field name: typed value}`` from ``harmonise.yaml``; ProjectError on any mistake."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ProjectError(f"cannot read the project file ({exc.strerror})", file=path) from exc
    except UnicodeDecodeError:
        raise ProjectError("the file is not UTF-8", file=path, hint="Save harmonise.yaml as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProjectError(f"not valid YAML ({getattr(exc, 'problem', exc)})", file=path,
                           line=mark.line + 1 if mark else None,
                           hint="Check the indentation and quoting around that line.") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ProjectError("the file must be a mapping of keys (study:, cutoff:, paths:, ...)", file=path)
    lines = _key_lines(node)
    options, hints = file_options(), typing.get_type_hints(Settings)
    values: dict[str, object] = {}
    for key, value in _flatten(data):
        line = lines.get(key)
        if key not in options:
            raise ProjectError("unknown key", file=path, key=key, line=line, hint=_unknown_hint(key, options))
        option = options[key]
        values[option.name] = _typed(value, hints[option.name], option, key, path, line)
    _check_key_source(values, path, lines)
    return values


def _flatten(data: dict, prefix: str = ""):
    sections = {k.split(".")[0] for k in file_options() if "." in k}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not prefix and str(name) in sections:
            yield from _flatten(value, f"{key}.")
        else:
            yield key, value


def _key_lines(node, prefix: str = "") -> dict[str, int]:
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            lines[key] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, f"{key}."))
    return lines


def _unknown_hint(key: str, options: dict) -> str:
    leaf = key.rsplit(".", 1)[-1]
    if leaf.lower() in SECRET_KEYS:
        return ("Never write the pseudonymisation key into harmonise.yaml: name where it lives, "
                "`pseudonym: {key_env: VARIABLE}` or `pseudonym: {key_file: /path/outside/the/project}`.")
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6) or \
        [k for k in options if k.rsplit(".", 1)[-1] == leaf]
    known = ", ".join(sorted(options))
    return (f"Did you mean '{close[0]}'? " if close else "") + f"Known keys: {known}."


def _typed(value, kind, option: dataclasses.Field, key: str, path: Path, line: int | None):
    """``value`` as the field's type (paths relative to the project folder)."""
    def refuse(expected: str, hint: str | None = None):
        raise ProjectError(f"{value!r} is not {expected}", file=path, key=key, line=line,
                           hint=hint or option.metadata["doc"])
    base = {a for a in typing.get_args(kind) if a is not type(None)} or {kind}
    if value is None:
        if type(None) in typing.get_args(kind):
            return None
        refuse("allowed here (the key needs a value)")
    if typing.get_origin(kind) is tuple:
        choices = option.metadata.get("choices") or ()
        words = [value] if isinstance(value, str) else value
        if not isinstance(words, list) or not words or any(w not in choices for w in words):
            refuse(f"a list of {', '.join(choices)}", f"Write it as {key.rsplit('.', 1)[-1]}: "
                   f"[{', '.join(choices)}]. {option.metadata['doc']}")
        return tuple(dict.fromkeys(words))
    if Path in base:
        if not isinstance(value, str) or not value.strip():
            refuse("a path")
        target = Path(value).expanduser()
        return target if target.is_absolute() else (path.parent / target).resolve()
    if dt.date in base:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            refuse("a date", "Write it as YYYY-MM-DD, e.g. 2024-05-25.")
    if bool in base:
        if not isinstance(value, bool):
            refuse("true or false")
        return value
    if float in base:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            refuse("a number")
        return float(value)
    if int in base:
        if isinstance(value, bool) or not isinstance(value, int):
            refuse("a whole number")
        if option.metadata.get("minimum") is not None and value < option.metadata["minimum"]:
            refuse(f"at least {option.metadata['minimum']}")
        return value
    if not isinstance(value, str):
        refuse("text", f"Quote it: {key.rsplit('.', 1)[-1]}: \"{value}\".")
    return value


def _check_key_source(values: dict, path: Path, lines: dict) -> None:
    """At most one key source; ``key_env`` names a variable, it is not the key."""
    given = [k for k in ("key_env", "key_file") if values.get(k)] + (["demo_key"] if values.get("demo_key") else [])
    if len(given) > 1:
        raise ProjectError(f"{' and '.join('pseudonym.' + g for g in given)} are both set",
                           file=path, key="pseudonym", line=lines.get("pseudonym"),
                           hint="Say in one way where the key comes from.")
    name = values.get("key_env")
    if name and (not ENV_NAME.match(name) or len(name) > 64):
        raise ProjectError("is not the name of an environment variable", file=path, key="pseudonym.key_env",
                           line=lines.get("pseudonym.key_env"),
                           hint="Give the variable's NAME (e.g. HARMONISE_PSEUDONYM_KEY), never the key itself; "
                                "if that was the key, it is no longer secret: make a new one.")
