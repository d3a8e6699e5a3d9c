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
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import yaml

from harmonise.mappings.derive import CELL_DERIVATIONS, ROW_DERIVATIONS
from harmonise.mappings.errors import MappingError
from harmonise.mappings.safe_regex import PatternError, compile_pattern
from harmonise.mappings.vocabulary import StudyVocabularyError, study_spellings
from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.schemas.canonical import NOT_RECORDED_ALLOWED, TABLES, mapped_columns, vocabulary_of
from harmonise.schemas.codes import codes

MAX_MAPPING_BYTES = 1_000_000
#: A center id: lower-case letters, digits and _, starting with a letter (it names files,
#: folders and the pseudonyms' salt, and is checked on every row).
CENTER_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")

TOP_KEYS = {"center", "mapping_version", "description", "files", "ignore_files"}
FILE_KEYS = {"role", "name", "format", "encoding", "delimiter", "sheet", "date_format",
             "decimal", "columns", "adverse_events_wide", "constants", "description",
             "header_row", "skip_footer", "skip_rows", "not_recorded", "derived"}
COLUMN_KEYS = {"to", "type", "vocab", "values", "separator", "extract", "date_format",
               "days_after", "unit", "identifier", "split_regimen", "optional", "decimal",
               "note", "derive", "age_rule"}
SKIP_RULE_KEYS = {"column", "equals", "starts_with", "empty"}
#: ``age_rule:`` of an age given with a fraction (41.5): whole years by rounding, by
#: completed years (floor), or only whole numbers accepted as given.
AGE_RULES = {"round", "floor", "as_given"}
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
    #: a named derivation of ``mappings.derive`` (the cell is its input, e.g. a birth date)
    derive: str | None = None
    age_rule: str = "as_given"


@dataclass(frozen=True)
class SkipRule:
    """Rows that are not data (a footer such as ``Total;24 patients``): skipped, never quarantined."""

    column: str
    equals: str | None = None
    starts_with: str | None = None
    empty: bool = False

    def describe(self) -> str:
        if self.empty:
            return f"rows whose '{self.column}' is empty"
        if self.equals is not None:
            return f"rows whose '{self.column}' is '{self.equals}'"
        return f"rows whose '{self.column}' starts with '{self.starts_with}'"


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
    #: the spreadsheet row (1 = first) that holds the header; rows above it are a title block
    header_row: int = 1
    #: rows at the end of the file that are not data (a footer), by position
    skip_footer: int = 0
    skip_rows: tuple[SkipRule, ...] = ()
    #: canonical columns the export does not record (``not_recorded:``), stored empty
    not_recorded: frozenset[tuple[str, str]] = frozenset()
    #: ``{(table, column): derivation}`` computed from other canonical columns of the row
    derived: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class CenterMapping:
    """A center's whole mapping, checked."""

    center: str
    version: str
    path: Path
    sha256: str
    files: tuple[FileSpec, ...]
    #: files in the center's folder that hold nothing the study needs (``ignore_files:``)
    ignore_files: tuple[str, ...] = ()

    @property
    def not_recorded(self) -> frozenset[tuple[str, str]]:
        """Canonical columns the center's export does not record (every file's ``not_recorded:``)."""
        return frozenset().union(*(f.not_recorded for f in self.files))
    #: sha256 of the study's vocab/ files folded into this mapping ("" when there are none).
    vocab_sha256: str = ""


def mapping_path(center: str, mappings_dir: Path) -> Path:
    return Path(mappings_dir) / f"{center}.yaml"


def list_centers(mappings_dir: Path) -> list[str]:
    """Centers with a mapping file, alphabetically (vocabularies are not centers)."""
    return sorted(p.stem for p in Path(mappings_dir).glob("*.yaml"))


def load_mapping(center: str, mappings_dir: Path, vocab_dir: Path | None = None) -> CenterMapping:
    """Read and check ``<mappings_dir>/<center>.yaml``; raise ``MappingError`` on any mistake.

    ``vocab_dir`` is the study's ``vocab/``: its spellings join every column translated with
    that vocabulary (below the column's own ``values:``, which still win).
    """
    path = mapping_path(center, mappings_dir)
    if not CENTER_ID.fullmatch(center):
        suggestion = re.sub(r"[^a-z0-9_]", "_", center.lower()).strip("_") or "site_a"
        raise MappingError(center, f"'{center}' is not a valid center id (file {path.name})",
                           file=str(path), hint=f"Center ids use lower-case letters, digits and _ "
                           f"and start with a letter: rename the file to {suggestion}.yaml and write "
                           f"`center: {suggestion}` in it (and name the inbox folder {suggestion}/).")
    if not path.is_file():
        raise MappingError(center, "no mapping file for this center",
                           file=str(path), hint=f"Create {path.name} (see docs/adding-a-center.md); "
                           f"centers with a mapping: {', '.join(list_centers(mappings_dir)) or 'none'}.")
    raw = path.read_bytes()
    reader = _Reader(center, path, raw)
    return with_study_spellings(reader.mapping(), vocab_dir)


def with_study_spellings(mapping: CenterMapping, vocab_dir: Path | None) -> CenterMapping:
    """``mapping`` with the study's added spellings in each vocabulary column's ``values``."""
    try:
        additions, digest = study_spellings(vocab_dir)
    except StudyVocabularyError as err:
        raise MappingError(mapping.center, str(err)) from None
    if not additions:
        return mapping

    def column(spec: ColumnSpec) -> ColumnSpec:
        extra = additions.get(spec.vocab or "")
        return replace(spec, values={**extra, **(spec.values or {})}) if extra else spec
    files = tuple(replace(f, columns={k: column(c) for k, c in f.columns.items()}) for f in mapping.files)
    return replace(mapping, files=files, vocab_sha256=digest)


class _Refused(Exception):
    def __init__(self, problem: str, line: int, hint: str):
        super().__init__(problem)
        self.problem, self.line, self.hint = problem, line, hint


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses anchors, aliases and explicit tags as it composes."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("YAML anchors (&) and aliases (*) are not allowed in mapping files",
                           line, "Write each entry out in full.")
        tag = getattr(event, "tag", None)
        if tag:  # only explicit tags (!!python/object, !custom) set it
            raise _Refused(f"YAML tags such as {tag} are not allowed in mapping files", line,
                           "Remove the tag; values are plain text, numbers or lists.")
        return super().compose_node(parent, index)


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
            self.node, self.data = self._parse(text)
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

    def _parse(self, text: str):
        """Parse the YAML once: the node tree (for line numbers) and the data built from it."""
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            self._refuse_duplicate_keys(node)
            return node, (loader.construct_document(node) if node is not None else None)
        except _Refused as refused:
            self.fail(refused.problem, line=refused.line, hint=refused.hint)
        finally:
            loader.dispose()

    def _refuse_duplicate_keys(self, node) -> None:
        """A key given twice in one block is an error (YAML would silently keep the last)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and name in seen:
                    self.fail(f"'{name}' is given twice in the same block: line {seen[name]} and "
                              f"line {line}", line=line, column=name,
                              hint="Keep one of the two entries. YAML would silently use the last "
                                   "one, e.g. send a column declared `identifier: drop` into the "
                                   "warehouse.")
                if name is not None:
                    seen[name] = line
                self._refuse_duplicate_keys(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._refuse_duplicate_keys(item)

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
        ignored = data.get("ignore_files") or []
        if not isinstance(ignored, list) or not all(isinstance(n, str) for n in ignored):
            self.fail("`ignore_files:` must list file names", line=self.line("ignore_files"),
                      hint="E.g. `ignore_files: [readme.txt, lab_values.csv]`.")
        both = sorted(set(ignored) & {f.name for f in specs})
        if both:
            self.fail(f"{', '.join(both)} is both mapped and listed under `ignore_files:`",
                      line=self.line("ignore_files"), hint="Keep one of the two.")
        return CenterMapping(center=self.center, version=str(data.get("mapping_version", "1")),
                             path=self.path, sha256=self.sha256, files=specs,
                             ignore_files=tuple(ignored))

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
        self.one_source_per_target(columns, (*where, "columns"))
        wide, wide_extract = self.wide(role, spec.get("adverse_events_wide"), where)
        constants = self.constants(role, spec.get("constants") or {}, where)
        keys = [c for c in columns.values() if c.action == "pseudonymise"]
        if len(keys) != 1:
            self.fail(f"files entry {i + 1} must have exactly one column with "
                      f"`identifier: pseudonymise` (found {len(keys)})", line=self.line(*where, "columns"),
                      hint="Mark the patient's hospital identifier (e.g. the MRN) with "
                           "`identifier: pseudonymise`; it links the files and never reaches the warehouse.")
        mapped = {(c.table, c.field) for c in columns.values() if c.table} | set(constants)
        derived = self.derived(role, spec.get("derived") or {}, where, mapped)
        not_recorded = self.not_recorded(role, spec.get("not_recorded") or [], where,
                                         mapped | set(derived))
        for col in columns.values():
            if col.derive:
                needs = tuple(CELL_DERIVATIONS[col.derive].needs.split("."))
                if needs not in mapped | set(derived):
                    self.fail(f"`derive: {col.derive}` on column '{col.source}' needs "
                              f"{'.'.join(needs)} in the same file entry", column=col.source,
                              line=self.line(*where, "columns", col.source),
                              hint=f"Map the export's column for {'.'.join(needs)} in this file too.")
        return FileSpec(role=role, name=self.file_name(spec["name"], where), format=fmt,
                        encoding=str(spec.get("encoding", "utf-8")),
                        delimiter=str(spec.get("delimiter", ",")), sheet=spec.get("sheet"),
                        columns=columns, wide_adverse_events=wide, wide_extract=wide_extract,
                        constants=constants,
                        header_row=self.whole(spec.get("header_row", 1), where, "header_row", 1),
                        skip_footer=self.whole(spec.get("skip_footer", 0), where, "skip_footer", 0),
                        skip_rows=self.skip_rules(spec.get("skip_rows") or [], where, columns),
                        not_recorded=not_recorded, derived=derived)

    def whole(self, value, where: tuple, key: str, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            self.fail(f"`{key}: {value}` must be a whole number of at least {least}",
                      line=self.line(*where, key),
                      hint="header_row: the spreadsheet row holding the column names (1 = the first "
                           "row); skip_footer: how many rows at the end of the file are not data.")
        return value

    def skip_rules(self, rules, where: tuple, columns: dict) -> tuple[SkipRule, ...]:
        here = (*where, "skip_rows")
        if not isinstance(rules, list):
            self.fail("`skip_rows:` must be a list of rules", line=self.line(*here),
                      hint='E.g. `skip_rows: [{column: ID, equals: Total}]`.')
        out = []
        for n, rule in enumerate(rules):
            if not isinstance(rule, dict) or "column" not in rule:
                self.fail(f"skip_rows rule {n + 1} needs `column:` and one of `equals:`, "
                          "`starts_with:` or `empty: true`", line=self.line(*here),
                          hint='E.g. `{column: ID, equals: Total}`.')
            self.check_keys(rule, SKIP_RULE_KEYS, (*here, n), f"skip_rows rule {n + 1}")
            given = [k for k in ("equals", "starts_with", "empty") if k in rule]
            if len(given) != 1:
                self.fail(f"skip_rows rule {n + 1} needs exactly one of `equals:`, `starts_with:` "
                          "or `empty: true`", line=self.line(*here))
            if str(rule["column"]) not in columns:
                self.fail(f"skip_rows rule {n + 1} names column '{rule['column']}', which is not "
                          "declared under `columns:`", line=self.line(*here),
                          hint=f"Declared columns: {', '.join(columns)}.")
            out.append(SkipRule(column=str(rule["column"]),
                                equals=None if rule.get("equals") is None else str(rule["equals"]),
                                starts_with=None if rule.get("starts_with") is None
                                else str(rule["starts_with"]),
                                empty=bool(rule.get("empty", False))))
        return tuple(out)

    def not_recorded(self, role: str, fields, where: tuple, mapped: set) -> frozenset:
        here = (*where, "not_recorded")
        if not isinstance(fields, list):
            self.fail("`not_recorded:` must list canonical columns, e.g. "
                      "[treatment.discontinuation_reason]", line=self.line(*here))
        out = set()
        for value in fields:
            table, column = self.target(role, value, where, "not_recorded")
            if (table, column) not in NOT_RECORDED_ALLOWED:
                allowed = ", ".join(sorted(f"{t}.{c}" for t, c in NOT_RECORDED_ALLOWED
                                           if t in ROLE_TABLES[role]))
                self.fail(f"{table}.{column} cannot be `not_recorded`: the study's analyses need it",
                          line=self.line(*here),
                          hint=f"Map the export's column for it. Columns an export may lack: {allowed}.")
            if (table, column) in mapped:
                self.fail(f"{table}.{column} is both mapped and `not_recorded`", line=self.line(*here),
                          hint="Remove it from `not_recorded:`, or drop the column that fills it.")
            out.add((table, column))
        return frozenset(out)

    def derived(self, role: str, spec, where: tuple, mapped: set) -> dict[tuple[str, str], str]:
        here = (*where, "derived")
        if not isinstance(spec, dict):
            self.fail("`derived:` must map canonical columns to a derivation, e.g. "
                      "`treatment.line_of_therapy: line_after_prior_lines`", line=self.line(*here))
        out = {}
        for target, name in spec.items():
            name = self.choose(name, set(ROW_DERIVATIONS), here, str(target))
            derivation = ROW_DERIVATIONS[name]
            if str(target) != derivation.target:
                self.fail(f"`{name}` fills {derivation.target}, not {target}", line=self.line(*here, target),
                          hint=f"Write `{derivation.target}: {name}`.")
            needs = tuple(derivation.needs.split("."))
            if needs not in mapped:
                self.fail(f"`{name}` needs {derivation.needs} mapped in the same file entry",
                          line=self.line(*here, target), hint=f"Map the export's column for {derivation.needs}.")
            table, column = self.target(role, target, here, None)
            if (table, column) in mapped:
                self.fail(f"{target} is both mapped from a column and `derived:`",
                          line=self.line(*here, target), hint="Keep one of the two.")
            out[(table, column)] = name
        return out

    def one_source_per_target(self, columns: dict[str, ColumnSpec], where: tuple) -> None:
        """Two source columns filling one canonical column is an error naming both lines."""
        first: dict[tuple[str, str], str] = {}
        for source, col in columns.items():
            if col.action != "map":
                continue
            target = (col.table, col.field)
            if target in first:
                other = first[target]
                self.fail(f"columns '{other}' (line {self.line(*where, other)}) and '{source}' (line "
                          f"{self.line(*where, source)}) both fill {target[0]}.{target[1]}",
                          line=self.line(*where, source), column=source,
                          hint="Only one export column may fill a canonical column: map the other "
                               "one elsewhere, or write `drop` for it.")
            first[target] = source

    def file_name(self, value, where: tuple) -> str:
        """A file name inside the center's inbox folder: no absolute path, no `..`."""
        name = str(value)
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if not name.strip() or name.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", name) \
                or ".." in parts:
            self.fail(f"`name: {name}` points outside the center's inbox folder",
                      line=self.line(*where, "name"),
                      hint="Write the export's file name only (e.g. `name: patients.csv`); the file "
                           "is read from <inbox>/<center>/.")
        return name

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
        canonical = _default_type(table, column)
        kind = spec.get("type") or canonical
        self.choose(kind, TYPES, here, "type")
        derive = spec.get("derive")
        if derive is not None:
            self.choose(derive, set(CELL_DERIVATIONS), here, "derive")
            derivation = CELL_DERIVATIONS[derive]
            if f"{table}.{column}" != derivation.target:
                self.fail(f"`derive: {derive}` fills {derivation.target}, not {table}.{column}",
                          line=self.line(*here, "derive"), column=source,
                          hint=f"Write `{{to: {derivation.target}, derive: {derive}}}`.")
            kind = derivation.reads
        elif kind != canonical and not (canonical == "integer" and kind == "number") \
                and canonical != "string":
            extra = (" A birth date becomes an age with `{to: patient.age_years, derive: "
                     "age_from_birth_date}`." if (table, column) == ("patient", "age_years") else "")
            self.fail(f"column '{source}': `type: {kind}` cannot fill {table}.{column}, which holds "
                      f"{_TYPE_WORDS[canonical]}", line=self.line(*here, "type"), column=source,
                      hint=f"Remove `type:` (it is {canonical} by default).{extra}")
        age_rule = spec.get("age_rule", "as_given")
        self.choose(age_rule, AGE_RULES, here, "age_rule")
        if "age_rule" in spec and (table, column) != ("patient", "age_years"):
            self.fail("`age_rule:` is for patient.age_years only", line=self.line(*here, "age_rule"),
                      column=source, hint="Remove it from this column.")
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
            self.pattern(str(spec["extract"]), (*here, "extract"))
        values = spec.get("values")
        if values is not None and not isinstance(values, dict):
            self.fail("`values:` must map source spellings to codes", line=self.line(*here, "values"))
        return ColumnSpec(
            source=source, action="map", table=table, field=column, type=kind, vocab=vocab,
            values={str(k): str(v) for k, v in (values or {}).items()} or None,
            separator=spec.get("separator"), extract=spec.get("extract"),
            date_format=_as_tuple(spec.get("date_format")) or defaults["date_format"],
            days_after=base if "days_after" in spec else None, unit=unit, optional=optional,
            decimal=str(spec.get("decimal", defaults["decimal"])), derive=derive, age_rule=age_rule)

    def pattern(self, pattern: str, where: tuple) -> None:
        """An ``extract`` pattern must compile for RE2 and have exactly one (group)."""
        try:
            if compile_pattern(pattern).groups != 1:
                raise PatternError("needs exactly one (group)")
        except PatternError as exc:
            self.fail(f"extract pattern is not usable: {exc}", line=self.line(*where),
                      hint="Use a regular expression with one (group), e.g. 'PS\\s*(\\d)'.")

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
        if spec.get("extract") is not None:
            self.pattern(str(spec["extract"]), (*here, "extract"))
        return out, spec.get("extract")

    def constants(self, role: str, spec: dict, where: tuple) -> dict[tuple[str, str], object]:
        here = (*where, "constants")
        return {self.target(role, k, here, k): v for k, v in spec.items()}


_TYPE_WORDS = {"integer": "whole numbers", "number": "numbers", "date": "dates",
               "boolean": "yes/no values", "string": "text or codes"}


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
