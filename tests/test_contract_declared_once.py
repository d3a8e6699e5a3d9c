"""The canonical tables are declared once (schemas/canonical.py); everything else follows."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from harmonise.flows.settings import PROJECT_ROOT
from harmonise.schemas.canonical import COLUMN_VOCABULARY, LINEAGE, PATIENT, TABLES, columns_of
from harmonise.warehouse.ddl import create_table

STAGES = ("flows", "mappings", "warehouse", "analysis", "onboarding", "demo")


def test_the_warehouse_tables_have_the_contract_columns_then_the_lineage(demo_con):
    for table in TABLES:
        stored = [r[0] for r in demo_con.execute(f"DESCRIBE {table}").fetchall()]
        assert stored == columns_of(table) + [c.name for c in LINEAGE]


def test_every_table_starts_with_the_patient_and_every_coded_column_names_a_shared_vocabulary():
    vocab_dir = PROJECT_ROOT / "mappings" / "vocab"
    for table in TABLES:
        assert tuple(columns_of(table)[:2]) == PATIENT
    assert COLUMN_VOCABULARY["patient.sex"] == "sex"
    for vocabulary in set(COLUMN_VOCABULARY.values()):
        assert (vocab_dir / f"{vocabulary}.yaml").is_file(), vocabulary


def test_the_ddl_is_generated_with_required_columns_and_the_primary_key():
    ddl = create_table("treatment")
    assert "start_date             DATE NOT NULL," in ddl
    assert "end_date               DATE," in ddl
    assert "PRIMARY KEY (center_id, patient_key, course_no)" in ddl


#: A column added to the one declaration, in a temporary copy of ``schemas/``.
NEW_COLUMN = '''
    weight_kg: Series[float] = pa.Field(nullable=True, ge=20, le=300,
                                        description="Body weight in kg at baseline.")
'''

CHECKS = textwrap.dedent('''
    import duckdb, pandas as pd
    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    from harmonise.mappings.engine import map_center
    from harmonise.mappings.pseudonym import load_key
    from harmonise.mappings.spec import load_mapping
    from harmonise.schemas.validate import validate_center
    from harmonise.warehouse import dictionary, ddl

    assert "weight_kg        DOUBLE," in ddl.create_table("patient"), ddl.create_table("patient")
    assert "| `weight_kg` | DOUBLE | no | greater_than_or_equal_to(20); less_than_or_equal_to(300)" \\
        in dictionary.render()
    settings = Settings.demo(home=__import__("pathlib").Path(HOME))
    key = load_key(demo=True)
    mapped = map_center(load_mapping("site_b", settings.mappings_dir), settings.inbox, key)
    frames = {t: f.copy() for t, f in mapped.frames.items()}
    frames["patient"]["weight_kg"] = 5.0
    checked = validate_center("site_b", frames, pd.Timestamp(settings.cutoff), mapped.quarantine)
    rules = set(zip(checked.quarantine.column_name, checked.quarantine.rule))
    assert ("weight_kg", "at_least") in rules, rules
    steps.prepare_warehouse(settings)
    result = steps.ingest_center("site_b", settings, steps.new_run_id(), key)
    assert result.status == "loaded", result
    with duckdb.connect(str(settings.warehouse)) as con:
        columns = [r[0] for r in con.execute("DESCRIBE patient").fetchall()]
        assert columns.index("weight_kg") == columns.index("prior_lines") + 1, columns
        assert con.execute("SELECT count(*) FROM patient WHERE weight_kg IS NULL").fetchone()[0] == 16
    print("followed")
''')


def test_a_column_changed_in_the_declaration_changes_ddl_dictionary_validation_and_loader(tmp_path):
    package = tmp_path / "src" / "harmonise"
    shutil.copytree(PROJECT_ROOT / "harmonise", package)
    shutil.copytree(PROJECT_ROOT / "schemas", package / "schemas")
    for stage in STAGES:
        (package / stage).symlink_to(PROJECT_ROOT / stage, target_is_directory=True)
    canonical = package / "schemas" / "canonical.py"
    text = canonical.read_text(encoding="utf-8")
    anchor = ('        ge=0, le=20, description="Number of prior lines of systemic therapy (0 = first line).",\n'
              '        metadata=MAY_BE_NOT_RECORDED)\n')
    assert anchor in text
    canonical.write_text(text.replace(anchor, anchor + NEW_COLUMN), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    script = f"HOME = {str(tmp_path / 'home')!r}\n" + CHECKS
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("followed")
    # ...while this interpreter's contract is unchanged.
    with duckdb.connect() as con:
        con.execute(create_table("patient"))
        assert "weight_kg" not in [r[0] for r in con.execute("DESCRIBE patient").fetchall()]
    assert Path(canonical).read_text(encoding="utf-8") != (PROJECT_ROOT / "schemas" / "canonical.py").read_text(encoding="utf-8")
