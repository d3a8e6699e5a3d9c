"""Documentation generated from code must not go stale."""
from __future__ import annotations

from harmonise.flows.settings import PROJECT_ROOT
from harmonise.warehouse.dictionary import render


def test_data_dictionary_is_up_to_date_with_the_schemas():
    committed = (PROJECT_ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/data-dictionary.md is stale: run `make docs`"


def test_data_dictionary_documents_every_canonical_column():
    from harmonise.schemas.canonical import TABLES, columns_of
    text = render()
    for table in TABLES:
        for column in columns_of(table):
            assert f"| `{column}` |" in text, f"{table}.{column}"


def test_readme_links_point_at_files_that_exist():
    import re
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs|demo)/[^)#]+)\)", readme)
    assert "docs/img/km-pfs-asps-vs-non-asps.png" in targets
    for target in targets:
        assert (PROJECT_ROOT / target).exists(), target


def test_data_dictionary_documents_every_analysis_view_and_its_columns():
    import duckdb
    from harmonise.warehouse.store import VIEWS, ensure_tables, refresh_views
    text = render()
    with duckdb.connect() as con:
        ensure_tables(con)
        refresh_views(con)
        for view in VIEWS:
            assert f"### `{view}`" in text
            for name, *_ in con.execute(f"DESCRIBE {view}").fetchall():
                assert f"| `{name}` |" in text, f"{view}.{name}"
