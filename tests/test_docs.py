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


def _yaml_snippets(text: str) -> list[tuple[str, str]]:
    """(heading, snippet) of every ```yaml block, with the ## / ### heading above it."""
    import re
    out, heading = [], ""
    for block in re.split(r"(?m)^(#{2,3} .*)$", text):
        if block.startswith("#"):
            heading = block.strip("# ").strip()
            continue
        out += [(heading, s) for s in re.findall(r"```yaml\n(.*?)```", block, re.S)]
    return out


def test_analysis_plan_doc_snippets_are_the_example_plan_and_validate(tmp_path):
    """Every key of plan.yaml is documented; each snippet of docs/analysis-plan.md is the
    example plan's own text (a list: its first entries; a new entry must validate inside
    it); the second study validates on its own."""
    import yaml
    from harmonise.analysis.plan import EXAMPLE_PLAN, load_plan
    from harmonise.analysis.plan_build import TOP_KEYS
    text = (PROJECT_ROOT / "docs" / "analysis-plan.md").read_text(encoding="utf-8")
    for key in TOP_KEYS:
        assert f"`{key}`" in text, f"plan.yaml key {key!r} is not documented"
    example = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    snippets = _yaml_snippets(text)
    assert len(snippets) >= 12
    for n, (heading, snippet) in enumerate(snippets):
        data = yaml.safe_load(snippet)
        path = tmp_path / f"plan{n}.yaml"
        if heading == "A second study in a few lines":
            path.write_text(snippet, encoding="utf-8")
            load_plan(path)
            continue
        merged = yaml.safe_load(EXAMPLE_PLAN.read_text(encoding="utf-8"))
        for key, value in data.items():
            mine = example.get(key)
            if isinstance(value, dict) and isinstance(mine, dict):
                for sub, entry in value.items():
                    if sub in mine:
                        assert entry == mine[sub], f"docs: {key}.{sub} differs from the example"
                merged[key] = {**mine, **value}
            elif isinstance(value, list):         # the first entries of a list
                assert value == mine[:len(value)], f"docs: {key} differs from the example plan"
            else:
                assert value == mine, f"docs: {key} differs from the example plan"
        merged.pop("published")
        path.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), "utf-8")
        load_plan(path)
