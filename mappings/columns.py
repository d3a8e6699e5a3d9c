"""Checking one source column's entry under ``columns:`` (and the canonical column it fills)."""
from __future__ import annotations

import difflib

from harmonise.mappings.derive import CELL_DERIVATIONS
from harmonise.mappings.document import MappingDocument
from harmonise.mappings.model import (AGE_RULES, COLUMN_KEYS, IDENTIFIER_ACTIONS, ROLE_TABLES,
                                      SHORTHANDS, TYPES, UNITS, ColumnSpec)
from harmonise.mappings.safe_regex import PatternError, compile_pattern
from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.mappings.vocabulary import canonical_vocabulary
from harmonise.schemas.canonical import (RENAMED_COLUMNS, RENAMED_WHY, TABLES, column_class, mapped_columns,
                                         vocabulary_of)
from harmonise.schemas.quarantine import FixIn
from harmonise.schemas.study_codes import CLOSED, snippet


class ColumnReader(MappingDocument):
    """The checks of one column entry and of a ``table.column`` target."""

    def target(self, role: str, value, where: tuple, key: str = "to") -> tuple[str, str]:
        tables = ROLE_TABLES[role]
        if key == "days_after":  # a base date may come from the center's patients file
            tables = {t for ts in ROLE_TABLES.values() for t in ts}
        valid = sorted(f"{t}.{c}" for t in tables for c in mapped_columns(t)
                       if (key != "days_after" or default_type(t, c) == "date"))
        text = str(value)
        old = tuple(text.split(".", 1))
        if old in RENAMED_COLUMNS:
            new = f"{old[0]}.{RENAMED_COLUMNS[old]}"
            self.fail(f"'{text}' was renamed {new} ({RENAMED_WHY[old]})",
                      line=self.line(*where, key) if key else self.line(*where),
                      hint=f"Write `{new}` in place of `{text}`.")
        if text not in valid:  # a name cut short (patient.age) first, then the closest spelling
            close = [v for v in valid if v.startswith(text)][:1] or difflib.get_close_matches(text, valid, n=1)
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
        optional = self.flag(spec.get("optional", False), here, "optional")
        if "identifier" in spec:
            action = self.choose(spec["identifier"], IDENTIFIER_ACTIONS, here, "identifier")
            return ColumnSpec(source=source, optional=optional,
                              action="pseudonymise" if action == "pseudonymise" else "identifier")
        if "split_regimen" in spec:
            if role != "patients":
                self.fail("split_regimen is only for patients files", line=self.line(*here))
            sep = spec["split_regimen"].get("separator", "+") if isinstance(
                spec["split_regimen"], dict) else "+"
            sep = self.text(sep, (*here, "split_regimen"), "separator")
            values = self.values_codes(spec.get("values"), "agent", None, here)
            return ColumnSpec(source=source, action="split_regimen", vocab=spec.get("vocab", "agent"),
                              separator=str(sep), values=values, optional=optional)
        if "to" not in spec:
            self.fail(f"column '{source}' says neither `to:`, `identifier:` nor `split_regimen:`",
                      line=self.line(*here), column=source,
                      hint="Map it with `to: table.column`, or write `drop` if it is not needed.")
        table, column = self.target(role, spec["to"], here)
        canonical = default_type(table, column)
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
                      f"{TYPE_WORDS[canonical]}", line=self.line(*here, "type"), column=source,
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
            self.pattern(self.text(spec["extract"], here, "extract"), (*here, "extract"))
        values = self.values_codes(spec.get("values"),
                                   canonical_vocabulary(vocab) if vocab else vocabulary_of(table, column),
                                   (table, column), here)
        return ColumnSpec(
            source=source, action="map", table=table, field=column, type=kind, vocab=vocab,
            values=values,
            separator=None if spec.get("separator") is None else self.text(spec["separator"], here, "separator"),
            extract=spec.get("extract"),
            date_format=self.date_formats(spec.get("date_format"), here) or defaults["date_format"],
            days_after=base if "days_after" in spec else None, unit=unit, optional=optional,
            decimal=self.choose(spec.get("decimal", defaults["decimal"]), DECIMALS, here, "decimal"),
            derive=derive, age_rule=age_rule)

    def values_codes(self, values, vocabulary: str | None, target: tuple[str, str] | None,
                     here: tuple) -> dict[str, str] | None:
        """A column's ``values:``: each spelling names a code of the study's code lists (of the
        class the target column holds); the fix of an unknown code is in the project's codes."""
        if values is None:
            return None
        if not isinstance(values, dict):
            self.fail("`values:` must map source spellings to codes", line=self.line(*here, "values"),
                      column=here[-1], hint="E.g. `values: {Tecentriq: atezolizumab}`; the fix "
                      "belongs in the mapping.")
        out = {str(k): str(v) for k, v in values.items()}
        where = self.target_class(target) if target else {}
        if vocabulary in self.book.vocabularies():
            for spelling, code in out.items():
                self.known_code(vocabulary, code, (*here, "values", spelling), where,
                                f"`values:` maps '{spelling}' to", column=here[-1])
        return out or None

    def target_class(self, target: tuple[str, str]) -> dict:
        """``{"class": ...}`` when the canonical column holds one class of its vocabulary."""
        cls = column_class(*target)
        return {"class": cls} if cls else {}

    def known_code(self, vocabulary: str, code: str, where: tuple, attrs: dict, said: str,
                   column: str | None = None) -> None:
        """Refuse a code the study's lists lack (fix: the project's codes.yaml, with the YAML to
        add) or a code of another class than the column holds (fix: the mapping)."""
        line = self.line(*where)
        if not self.book.has(vocabulary, code) and vocabulary in CLOSED:
            self.fail(f"{said} '{code}', which is not in the code list '{vocabulary}'", line=line,
                      column=column, hint=f"The list is closed ({CLOSED[vocabulary]}): map the spelling "
                      f"to one of {', '.join(self.book.codes(vocabulary, **attrs))}.")
        if not self.book.has(vocabulary, code):
            close = difflib.get_close_matches(code, self.book.codes(vocabulary, **attrs), n=1, cutoff=0.85)
            maybe = f"If you meant the code '{close[0]}', correct the mapping. " if close else ""
            self.fail(f"{said} '{code}', which is not in the code list '{vocabulary}'", line=line,
                      column=column, fix=(FixIn.PROJECT_CODES, FixIn.MAPPING),
                      hint=f"{maybe}If it is a code this study needs, the fix belongs in the "
                           f"project's codes, not in the mapping: add {snippet(vocabulary, code, **attrs)}.")
        for name, wanted in attrs.items():
            has = self.book.attribute(vocabulary, code, name)
            if has != wanted:
                self.fail(f"{said} '{code}', of {name} {has}, but this column holds {vocabulary} "
                          f"codes of {name} {wanted}", line=line, column=column,
                          hint=f"Map '{code}' in the column of its {name} ({has}), or use "
                               "`split_regimen` for a cell naming several agents.")

    def pattern(self, pattern: str, where: tuple) -> None:
        """An ``extract`` pattern must compile for RE2 and have exactly one (group)."""
        try:
            if compile_pattern(pattern).groups != 1:
                raise PatternError("needs exactly one (group)")
        except PatternError as exc:
            self.fail(f"extract pattern is not usable: {exc}", line=self.line(*where),
                      hint="Use a regular expression with one (group), e.g. 'PS\\s*(\\d)'.")


#: ``decimal:``: the decimal mark of the export's numbers.
DECIMALS = {".", ","}

TYPE_WORDS = {"integer": "whole numbers", "number": "numbers", "date": "dates",
               "boolean": "yes/no values", "string": "text or codes"}


def default_type(table: str, column: str) -> str:
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
