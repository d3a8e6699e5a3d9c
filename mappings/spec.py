"""Read and check one center's mapping file (``mappings/<center>.yaml``).

The mapping language is small and closed; every key below is documented in
``docs/mapping-language.md``. A mapping file is data: it is parsed with PyYAML's safe
loader (no tags, no code) and may not use anchors or aliases. Any mistake is reported
with the file, the line, the key and what would be valid ("did you mean ...?").
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harmonise.mappings.errors import MappingError
from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.schemas.canonical import TABLES, mapped_columns, vocabulary_of
from harmonise.schemas.codes import codes

MAX_MAPPING_BYTES = 1_000_000

TOP_KEYS = {"center", "mapping_version", "description", "files"}
FILE_KEYS = {"role", "name", "format", "encoding", "delimiter", "sheet", "date_format",
             "decimal", "columns", "adverse_events_wide", "constants", "description"}
COLUMN_KEYS = {"to", "type", "vocab", "values", "separator", "extract", "date_format",
               "days_after", "unit", "identifier", "split_regimen", "optional", "decimal",
               "note"}
WIDE_KEYS = {"columns", "extract", "note"}
ROLES = {"patients", "adverse_events"}
FORMATS = {"csv", "excel"}
TYPES = {"string", "integer", "number", "date", "boolean"}
IDENTIFIER_ACTIONS = {"pseudonymise", "drop"}
SHORTHANDS = {"drop", "ignore"}
#: Length of one unit in days, for ``unit:`` on a ``days_after`` column.
#: Months use the study's convention (365.25 / 12 = 30.4375 days).
UNITS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}
#: Which role may feed which canonical tables.
ROLE_TABLES = {"patients": {"patient", "treatment", "outcome"},
               "adverse_events": {"adverse_event"}}


@dataclass(frozen=True)
class ColumnSpec:
    """What to do with one source column."""

    source: str
    action: str                      # map | drop | identifier | pseudonymise | split_regimen
    table: str | None = None
    field: str | None = None
    type: str = "string"
    vocab: str | None = None
    values: dict | None = None
    separator: str | None = None
    extract: str | None = None
    date_format: tuple[str, ...] = ()
    days_after: tuple[str, str] | None = None
    unit: str = "days"
    optional: bool = False
    decimal: str = "."


@dataclass(frozen=True)
class FileSpec:
    """One export file of a center and how its columns map."""

    role: str
    name: str
    format: str
    encoding: str
    delimiter: str
    sheet: str | int | None
    columns: dict[str, ColumnSpec]
    wide_adverse_events: dict[str, str] = field(default_factory=dict)
    wide_extract: str | None = None
    constants: dict[tuple[str, str], object] = field(default_factory=dict)


@dataclass(frozen=True)
class CenterMapping:
    """A center's whole mapping, checked."""

    center: str
    version: str
    path: Path
    sha256: str
    files: tuple[FileSpec, ...]


def mapping_path(center: str, mappings_dir: Path) -> Path:
    return Path(mappings_dir) / f"{center}.yaml"


def list_centers(mappings_dir: Path) -> list[str]:
    """Centers with a mapping file, alphabetically (vocabularies are not centers)."""
    return sorted(p.stem for p in Path(mappings_dir).glob("*.yaml"))


def load_mapping(center: str, mappings_dir: Path) -> CenterMapping:
    """Read and check ``<mappings_dir>/<center>.yaml``; raise ``MappingError`` on any mistake."""
    path = mapping_path(center, mappings_dir)
    if not path.is_file():
        raise MappingError(center, "no mapping file for this center",
                           file=str(path), hint=f"Create {path.name} (see docs/adding-a-center.md); "
                           f"centers with a mapping: {', '.join(list_centers(mappings_dir)) or 'none'}.")
    raw = path.read_bytes()
    reader = _Reader(center, path, raw)
    return reader.mapping()


class _Reader:
    """Walks the parsed YAML, remembering line numbers for error messages."""

    def __init__(self, center: str, path: Path, raw: bytes):
        self.center, self.path = center, path
        self.sha256 = hashlib.sha256(raw).hexdigest()
        if len(raw) > MAX_MAPPING_BYTES:
            self.fail(f"the mapping file is {len(raw)} bytes; the limit is {MAX_MAPPING_BYTES}",
                      hint="A mapping file lists columns; it should be a few kilobytes.")
        try:
            text = raw.decode("utf-8-sig")
            self._refuse_aliases_and_tags(text)
            self.node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except UnicodeDecodeError:
            self.fail("the mapping file is not UTF-8", hint="Save the YAML file as UTF-8.")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.fail(f"this is not valid YAML: {getattr(exc, 'problem', exc)}",
                      line=mark.line + 1 if mark else None,
                      hint="Check indentation and quoting around the reported line.")
        if not isinstance(self.data, dict):
            self.fail("the mapping file must be a set of `key: value` entries",
                      hint="Start from an existing center's YAML file.")

    def _refuse_aliases_and_tags(self, text: str) -> None:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                self.fail("YAML anchors (&) and aliases (*) are not allowed in mapping files",
                          line=line, hint="Write each entry out in full.")
            tag = getattr(event, "tag", None)
            if tag:  # only explicit tags (!!python/object, !custom) set it
                self.fail(f"YAML tags such as {tag} are not allowed in mapping files", line=line,
                          hint="Remove the tag; values are plain text, numbers or lists.")

    # -- error helpers -------------------------------------------------------------
    def fail(self, problem: str, *, line: int | None = None, column: str | None = None,
             hint: str | None = None):
        raise MappingError(self.center, problem, file=str(self.path), line=line,
                           column=column, hint=hint)

    def line(self, *path) -> int | None:
        node = getattr(self, "node", None)
        for step in path:
            if isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if k.value == step]
                if not found:
                    return node.start_mark.line + 1
                key, node = found[0]
                if step == path[-1]:
                    return key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                node = node.value[step]
            else:
                break
        return node.start_mark.line + 1 if node is not None else None

    def check_keys(self, given: dict, allowed: set[str], where: tuple, what: str) -> None:
        for key in given:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                maybe = f"Did you mean '{close[0]}'? " if close else ""
                self.fail(f"unknown key '{key}' in {what}", line=self.line(*where, key),
                          hint=f"{maybe}Valid keys: {', '.join(sorted(allowed))}.")

    def choose(self, value, allowed, where: tuple, key: str):
        if value not in allowed:
            close = difflib.get_close_matches(str(value), sorted(map(str, allowed)), n=1)
            maybe = f"Did you mean '{close[0]}'? " if close else ""
            self.fail(f"'{value}' is not a valid {key}", line=self.line(*where, key),
                      hint=f"{maybe}Valid values: {', '.join(sorted(map(str, allowed)))}.")
        return value

    # -- the walk --------------------------------------------------------------------
    def mapping(self) -> CenterMapping:
        data = self.data
        self.check_keys(data, TOP_KEYS, (), "the mapping file")
        if data.get("center") != self.center:
            self.fail(f"`center: {data.get('center')}` does not match the file name {self.path.name}",
                      line=self.line("center"), hint=f"Write `center: {self.center}`.")
        files = data.get("files")
        if not isinstance(files, list) or not files:
            self.fail("`files:` must list at least one export file", line=self.line("files"),
                      hint="See docs/mapping-language.md for an example.")
        specs = tuple(self.file(i, f) for i, f in enumerate(files))
        if "patients" not in {f.role for f in specs}:
            self.fail("no file has `role: patients`", line=self.line("files"),
                      hint="Exactly one file must hold one row per patient.")
        return CenterMapping(center=self.center, version=str(data.get("mapping_version", "1")),
                             path=self.path, sha256=self.sha256, files=specs)

    def file(self, i: int, spec) -> FileSpec:
        where = ("files", i)
        if not isinstance(spec, dict):
            self.fail(f"files entry {i + 1} must be a set of keys", line=self.line(*where))
        self.check_keys(spec, FILE_KEYS, where, f"files entry {i + 1}")
        for required in ("role", "name", "columns"):
            if required not in spec:
                self.fail(f"files entry {i + 1} has no `{required}:`", line=self.line(*where),
                          hint=f"Add `{required}:` to this file entry.")
        role = self.choose(spec["role"], ROLES, where, "role")
        fmt = self.choose(spec.get("format", "csv"), FORMATS, where, "format")
        defaults = {"date_format": _as_tuple(spec.get("date_format", "%Y-%m-%d")),
                    "decimal": str(spec.get("decimal", "."))}
        columns = {}
        if not isinstance(spec["columns"], dict):
            self.fail("`columns:` must map each source column name to what to do with it",
                      line=self.line(*where, "columns"))
        for source, col in spec["columns"].items():
            columns[str(source)] = self.column(role, str(source), col, (*where, "columns"), defaults)
        wide, wide_extract = self.wide(role, spec.get("adverse_events_wide"), where)
        constants = self.constants(role, spec.get("constants") or {}, where)
        keys = [c for c in columns.values() if c.action == "pseudonymise"]
        if len(keys) != 1:
            self.fail(f"files entry {i + 1} must have exactly one column with "
                      f"`identifier: pseudonymise` (found {len(keys)})", line=self.line(*where, "columns"),
                      hint="Mark the patient's hospital identifier (e.g. the MRN) with "
                           "`identifier: pseudonymise`; it links the files and never reaches the warehouse.")
        return FileSpec(role=role, name=str(spec["name"]), format=fmt,
                        encoding=str(spec.get("encoding", "utf-8")),
                        delimiter=str(spec.get("delimiter", ",")), sheet=spec.get("sheet"),
                        columns=columns, wide_adverse_events=wide, wide_extract=wide_extract,
                        constants=constants)

    def target(self, role: str, value, where: tuple, key: str = "to") -> tuple[str, str]:
        tables = ROLE_TABLES[role]
        if key == "days_after":  # a base date may come from the center's patients file
            tables = {t for ts in ROLE_TABLES.values() for t in ts}
        valid = sorted(f"{t}.{c}" for t in tables for c in mapped_columns(t)
                       if (key != "days_after" or _default_type(t, c) == "date"))
        text = str(value)
        if text not in valid:
            close = difflib.get_close_matches(text, valid, n=1)
            maybe = f"Did you mean '{close[0]}'? " if close else ""
            self.fail(f"'{text}' is not a canonical column a {role} file can fill",
                      line=self.line(*where, key) if key else self.line(*where),
                      hint=f"{maybe}Write it as table.column, one of: {', '.join(valid)}.")
        table, column = text.split(".")
        return table, column

    def column(self, role: str, source: str, spec, where: tuple, defaults: dict) -> ColumnSpec:
        here = (*where, source)
        if isinstance(spec, str):
            self.choose(spec, SHORTHANDS, where, source)
            return ColumnSpec(source=source, action="drop")
        if not isinstance(spec, dict):
            self.fail(f"column '{source}' must be `drop`, `ignore` or a set of keys",
                      line=self.line(*here), column=source,
                      hint="E.g. `{to: patient.sex, vocab: sex}` or `{identifier: drop}`.")
        self.check_keys(spec, COLUMN_KEYS, here, f"column '{source}'")
        optional = bool(spec.get("optional", False))
        if "identifier" in spec:
            action = self.choose(spec["identifier"], IDENTIFIER_ACTIONS, here, "identifier")
            return ColumnSpec(source=source, optional=optional,
                              action="pseudonymise" if action == "pseudonymise" else "identifier")
        if "split_regimen" in spec:
            if role != "patients":
                self.fail("split_regimen is only for patients files", line=self.line(*here))
            sep = spec["split_regimen"].get("separator", "+") if isinstance(
                spec["split_regimen"], dict) else "+"
            return ColumnSpec(source=source, action="split_regimen", vocab=spec.get("vocab", "agent"),
                              separator=str(sep), values=spec.get("values"), optional=optional)
        if "to" not in spec:
            self.fail(f"column '{source}' says neither `to:`, `identifier:` nor `split_regimen:`",
                      line=self.line(*here), column=source,
                      hint="Map it with `to: table.column`, or write `drop` if it is not needed.")
        table, column = self.target(role, spec["to"], here)
        kind = spec.get("type") or _default_type(table, column)
        self.choose(kind, TYPES, here, "type")
        vocab = spec.get("vocab")
        if vocab is not None:
            self.choose(vocab, set(available_vocabularies()), here, "vocab")
        elif kind == "boolean":
            vocab = "boolean"
        elif spec.get("values") and column in available_vocabularies():
            vocab = column  # `values:` refine the shared vocabulary of the same name
        if "days_after" in spec:
            base = self.target(role, spec["days_after"], here, "days_after")
            kind = "date"
        unit = self.choose(spec.get("unit", "days"), set(UNITS), here, "unit")
        if spec.get("extract") is not None:
            try:
                if re.compile(str(spec["extract"])).groups != 1:
                    raise re.error("needs exactly one (group)")
            except re.error as exc:
                self.fail(f"extract pattern is not usable: {exc}", line=self.line(*here, "extract"),
                          hint="Use a regular expression with one (group), e.g. 'PS\\s*(\\d)'.")
        values = spec.get("values")
        if values is not None and not isinstance(values, dict):
            self.fail("`values:` must map source spellings to codes", line=self.line(*here, "values"))
        return ColumnSpec(
            source=source, action="map", table=table, field=column, type=kind, vocab=vocab,
            values={str(k): str(v) for k, v in (values or {}).items()} or None,
            separator=spec.get("separator"), extract=spec.get("extract"),
            date_format=_as_tuple(spec.get("date_format")) or defaults["date_format"],
            days_after=base if "days_after" in spec else None, unit=unit, optional=optional,
            decimal=str(spec.get("decimal", defaults["decimal"])))

    def wide(self, role: str, spec, where: tuple) -> tuple[dict[str, str], str | None]:
        if spec is None:
            return {}, None
        here = (*where, "adverse_events_wide")
        if role != "patients" or not isinstance(spec, dict):
            self.fail("adverse_events_wide belongs to a patients file and needs `columns:`",
                      line=self.line(*here))
        self.check_keys(spec, WIDE_KEYS, here, "adverse_events_wide")
        terms = set(codes(vocabulary_of("adverse_event", "term")))
        out = {}
        for source, term in (spec.get("columns") or {}).items():
            self.choose(term, terms, (*here, "columns"), str(source))
            out[str(source)] = str(term)
        return out, spec.get("extract")

    def constants(self, role: str, spec: dict, where: tuple) -> dict[tuple[str, str], object]:
        here = (*where, "constants")
        return {self.target(role, k, here, k): v for k, v in spec.items()}


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _default_type(table: str, column: str) -> str:
    """The source type implied by the canonical column's dtype."""
    dtype = str(TABLES[table].to_schema().columns[column].dtype).lower()
    if "datetime" in dtype or "timestamp" in dtype:
        return "date"
    if "int" in dtype:
        return "integer"
    if "bool" in dtype:
        return "boolean"
    if "float" in dtype:
        return "number"
    return "string"
