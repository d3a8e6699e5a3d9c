"""Generate ``docs/data-dictionary.md``: the canonical tables, the analysis views, the code lists.

Tables come from the pandera models (``schemas/``), views from their SQL files here (the
header comment says what each is; DuckDB itself says which columns and types it has).
Run ``make docs`` (or ``python -m warehouse.dictionary > docs/data-dictionary.md``);
a test fails when the committed file differs from what this prints. A project's own
dictionary, with the codes its ``codes.yaml`` adds: ``python -m harmonise.warehouse.dictionary
PROJECT_DIR``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from harmonise.schemas.canonical import LINEAGE, TABLES, contract, vocabulary_of
from harmonise.schemas.codes import CodeBook, builtin
from harmonise.schemas.quarantine import QuarantineRecord
from harmonise.schemas.study_codes import STUDY_CODES_FILE, study_book
from harmonise.warehouse.ddl import quarantine_columns, sql_type, stored_type
from harmonise.warehouse.store import VIEWS, sql_files, ensure_tables, refresh_views

HEADER = """# Data dictionary

Generated from `schemas/canonical.py`, `schemas/quarantine.py`, `schemas/codes.yaml` and `warehouse/sql/` by
`make docs`: do not edit by hand. Derived fields (PFS, OS, groups) are computed in the view
`v_patient` (`warehouse/sql/30_v_patient.sql`). Every stored canonical row also carries its
lineage:
"""


def _checks(column) -> str:
    parts = []
    for check in column.checks:
        stats = check.statistics or {}
        if check.name == "isin":
            continue  # the allowed codes are listed under "Code lists"
        if stats:
            values = ", ".join(str(v).replace(" 00:00:00", "") for v in stats.values())
            parts.append(f"{check.name}({values})")
        else:
            parts.append(check.name)
    return "; ".join(parts)


def _codes_of(table: str, name: str, column) -> str:
    for check in column.checks:
        if check.name == "isin":
            return ", ".join(f"`{v}`" for v in check.statistics["allowed_values"])
    vocabulary = vocabulary_of(table, name)
    return f"codes of `{vocabulary}`" if vocabulary else ""


def _view_header(name: str) -> list[str]:
    """The leading comment of a view's SQL file, as text."""
    path = next(p for p in sql_files(("2", "3")) if f"VIEW {name} " in p.read_text(encoding="utf-8"))
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].rstrip()[1:] if line[2:3] == " " else line[2:].rstrip())
    return lines


def _views() -> list[str]:
    """One section per analysis view: what it is (its SQL header) and its columns (from DuckDB)."""
    lines = ["## Analysis views", "",
             "What analysts query. Defined in `warehouse/sql/3*.sql`; rebuilt at every run.", ""]
    with duckdb.connect() as con:
        ensure_tables(con)
        refresh_views(con)
        for view in VIEWS:
            columns = con.execute(f"DESCRIBE {view}").fetchall()
            lines += [f"### `{view}`", "", "```", *_view_header(view), "```", "",
                      "| column | type |", "|---|---|"]
            lines += [f"| `{name}` | {kind} |" for name, kind, *_ in columns]
            lines.append("")
    return lines


def _quarantine() -> list[str]:
    """The quarantine table, from the one declaration of its record (``schemas/quarantine.py``)."""
    grain = (QuarantineRecord.__doc__ or "").strip().splitlines()[0]
    lines = ["## `quarantine`", "", f"{grain} Rows here were not loaded; replaced per center at "
             "each load.", "", "| column | type | required | description |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {stored_type(c)} | {'yes' if c.required else 'no'} | {c.description} |"
              for c in quarantine_columns()]
    return [*lines, ""]


def render(book: CodeBook | None = None) -> str:
    """The whole dictionary as Markdown; ``book``: a study's code lists (its own codes marked)."""
    book = book or builtin()
    lines = [HEADER, *(f"- `{c.name}`: {c.description}" for c in LINEAGE), ""]
    if book.source is not None:
        lines += [f"This study adds codes of its own (`{book.source.name}` of the project): marked "
                  "*study* under \"Code lists\".", ""]
    for table, model in TABLES.items():
        schema = contract(table, book)
        doc = (model.__doc__ or "").strip().splitlines()[0]
        lines += [f"## `{table}`", "", doc, "",
                  "| column | type | required | rules | allowed codes | description |",
                  "|---|---|---|---|---|---|"]
        for name, column in schema.columns.items():
            lines.append(f"| `{name}` | {sql_type(column.dtype)} | {'no' if column.nullable else 'yes'} | "
                         f"{_checks(column)} | {_codes_of(table, name, column)} | "
                         f"{column.description or ''} |")
        table_checks = [c.name for c in schema.checks]
        unique = schema.unique
        if unique or table_checks:
            lines.append("")
            if unique:
                lines.append(f"Unique: {', '.join(f'`{u}`' for u in unique)}.")
            for name in table_checks:
                lines.append(f"Row rule: `{name}`.")
        lines.append("")
    lines += _quarantine()
    lines += _views()
    lines += ["## Code lists", ""]
    for vocabulary, entries in book.vocabularies().items():
        lines.append(f"### `{vocabulary}`")
        lines.append("")
        for code, attrs in entries.items():
            extra = {k: v for k, v in attrs.items() if k not in ("label",)}
            more = "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in extra.items())
            study = " *study*" if book.is_study_code(vocabulary, code) else ""
            lines.append(f"- `{code}`: {attrs.get('label', code)}" + (f" ({more})" if more else "") + study)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    """``python -m harmonise.warehouse.dictionary [PROJECT]``: the built-in dictionary, or a
    project's with its own codes (``PROJECT/codes.yaml``)."""
    argv = sys.argv[1:] if argv is None else argv
    book = study_book(Path(argv[0]) / STUDY_CODES_FILE) if argv else None
    print(render(book), end="")


if __name__ == "__main__":
    main()
