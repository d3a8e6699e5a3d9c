"""Checking a mapping file's top level and each of its ``files:`` entries."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from harmonise.mappings.columns import DECIMALS, ColumnReader
from harmonise.mappings.derive import CELL_DERIVATIONS, ROW_DERIVATIONS
from harmonise.mappings.model import (FILE_KEYS, FORMATS, ROLE_TABLES, ROLES, SKIP_RULE_KEYS,
                                      TOP_KEYS, WIDE_KEYS, CenterMapping, ColumnSpec, FileSpec,
                                      SkipRule)
from harmonise.mappings.summary_reader import file_summaries, summarised_once
from harmonise.schemas.canonical import NOT_RECORDED_ALLOWED, vocabulary_of


class MappingReader(ColumnReader):
    """The whole walk: a checked ``CenterMapping`` from the parsed file, or a ``MappingError``."""

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
        summarised_once(self, specs)
        return CenterMapping(center=self.center, version=self.text(data.get("mapping_version", "1"), (), "mapping_version",
                                                           numbers=True),
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
        defaults = {"date_format": self.date_formats(spec.get("date_format", "%Y-%m-%d"), where),
                    "decimal": self.choose(spec.get("decimal", "."), DECIMALS, where, "decimal")}
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
        name = self.file_name(spec["name"], where)
        summaries = file_summaries(self, role, spec, where, mapped | set(derived), name)
        return FileSpec(role=role, name=name, format=fmt,
                        encoding=self.text(spec.get("encoding", "utf-8"), where, "encoding"),
                        delimiter=self.delimiter(spec.get("delimiter", ","), where),
                        sheet=None if spec.get("sheet") is None else spec["sheet"] if isinstance(
                            spec["sheet"], int) and not isinstance(spec["sheet"], bool)
                        else self.text(spec["sheet"], where, "sheet", "A sheet's name, or its number from 0."),
                        columns=columns, wide_adverse_events=wide, wide_extract=wide_extract,
                        constants=constants,
                        header_row=self.whole(spec.get("header_row", 1), where, "header_row", 1),
                        skip_footer=self.whole(spec.get("skip_footer", 0), where, "skip_footer", 0),
                        skip_rows=self.skip_rules(spec.get("skip_rows") or [], where, columns),
                        not_recorded=not_recorded, derived=derived, summaries=summaries)

    def delimiter(self, value, where: tuple) -> str:
        text = self.text(value, where, "delimiter", 'E.g. `delimiter: ";"` (quote it).')
        if len(text) != 1:
            self.fail(f"`delimiter: {text}` must be one character", line=self.line(*where, "delimiter"),
                      hint='The character between the columns of the export, e.g. `delimiter: ";"` or '
                           '`delimiter: "\\t"` for a tab.')
        return text

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

    def wide(self, role: str, spec, where: tuple) -> tuple[dict[str, str], str | None]:
        if spec is None:
            return {}, None
        here = (*where, "adverse_events_wide")
        if role != "patients" or not isinstance(spec, dict):
            self.fail("adverse_events_wide belongs to a patients file and needs `columns:`",
                      line=self.line(*here))
        self.check_keys(spec, WIDE_KEYS, here, "adverse_events_wide")
        terms = set(self.book.codes(vocabulary_of("adverse_event", "term")))
        out = {}
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            self.fail("`adverse_events_wide: columns:` must map each grade column to its term",
                      line=self.line(*here, "columns"), hint="E.g. `columns: {Fatigue_grade: fatigue}`.")
        for source, term in columns.items():
            if str(term) not in terms:
                self.known_code(vocabulary_of("adverse_event", "term"), str(term),
                                (*here, "columns", source), {},
                                f"`adverse_events_wide:` maps column '{source}' to the term",
                                column=str(source))
            out[str(source)] = str(term)
        if spec.get("extract") is not None:
            self.pattern(str(spec["extract"]), (*here, "extract"))
        return out, spec.get("extract")

    def constants(self, role: str, spec: dict, where: tuple) -> dict[tuple[str, str], object]:
        here = (*where, "constants")
        if not isinstance(spec, dict):
            self.fail("`constants:` must map canonical columns to the one value they hold",
                      line=self.line(*here), hint="E.g. `constants: {treatment.course_no: 1}`.")
        return {self.target(role, k, here, k): v for k, v in spec.items()}


