"""The canonical tables (schemas/canonical.py) and the quarantine record (schemas/quarantine.py)
are declared once; the DDL, the data dictionary, validation and the loader follow."""
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
from harmonise.schemas.quarantine import STORED_COLUMNS
from harmonise.warehouse.ddl import create_table, quarantine_ddl

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


def _changed_copy(tmp_path, module: str, anchor: str, addition: str) -> Path:
    """A temporary copy of the package whose ``schemas/<module>`` has ``addition`` after ``anchor``."""
    package = tmp_path / "src" / "harmonise"
    shutil.copytree(PROJECT_ROOT / "harmonise", package)
    shutil.copytree(PROJECT_ROOT / "schemas", package / "schemas")
    for stage in STAGES:
        (package / stage).symlink_to(PROJECT_ROOT / stage, target_is_directory=True)
    declaration = package / "schemas" / module
    text = declaration.read_text(encoding="utf-8")
    assert anchor in text
    declaration.write_text(text.replace(anchor, anchor + addition), encoding="utf-8")
    return declaration


def _run_in_copy(tmp_path, checks: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    script = f"HOME = {str(tmp_path / 'home')!r}\n" + checks
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("followed")


def test_a_column_changed_in_the_declaration_changes_ddl_dictionary_validation_and_loader(tmp_path):
    anchor = ('        ge=0, le=20, description="Number of prior lines of systemic therapy (0 = first line).",\n'
              '        metadata=MAY_BE_NOT_RECORDED)\n')
    canonical = _changed_copy(tmp_path, "canonical.py", anchor, NEW_COLUMN)
    _run_in_copy(tmp_path, CHECKS)
    # ...while this interpreter's contract is unchanged.
    with duckdb.connect() as con:
        con.execute(create_table("patient"))
        assert "weight_kg" not in [r[0] for r in con.execute("DESCRIBE patient").fetchall()]
    assert Path(canonical).read_text(encoding="utf-8") != (PROJECT_ROOT / "schemas" / "canonical.py").read_text(encoding="utf-8")


def test_the_quarantine_table_is_generated_from_the_one_declaration_of_its_record():
    with duckdb.connect() as con:
        con.execute(quarantine_ddl())
        stored = con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                             "WHERE table_name = 'quarantine' ORDER BY column_index").fetchall()
    assert [name for name, _, _ in stored] == [*STORED_COLUMNS, "load_id"]
    assert ("source_row", "INTEGER", True) in stored and ("rule", "VARCHAR", False) in stored
    assert "inputs" not in STORED_COLUMNS   # the message's inputs live in the rendered reason
    assert not (PROJECT_ROOT / "warehouse" / "sql" / "20_quarantine.sql").exists()


#: A field added to the quarantine record's one declaration, in a temporary copy of ``schemas/``.
NEW_FIELD = """\
    reviewed_by: str = field(default="nobody", metadata=_stored(
        "who looked at the row (a test field)", required=True))
"""

QUARANTINE_CHECKS = textwrap.dedent('''
    import pathlib, shutil
    import duckdb
    from harmonise.flows import steps
    from harmonise.flows.settings import DEMO_INBOX, Settings
    from harmonise.mappings.pseudonym import load_key
    from harmonise.schemas.quarantine import STORED_COLUMNS
    from harmonise.warehouse import dictionary, ddl

    assert "reviewed_by   VARCHAR NOT NULL," in ddl.quarantine_ddl(), ddl.quarantine_ddl()
    assert "| `reviewed_by` | VARCHAR | yes | who looked at the row (a test field) |" \\
        in dictionary.render()
    assert STORED_COLUMNS.index("reviewed_by") == STORED_COLUMNS.index("failed_value") + 1
    home = pathlib.Path(HOME)
    shutil.copytree(DEMO_INBOX / "site_a", home / "inbox" / "site_a")
    patients = home / "inbox" / "site_a" / "site_a_patients.csv"
    text = patients.read_text(encoding="utf-8")
    patients.write_text(text.replace(",Male,54,", ",Male,15,", 1), encoding="utf-8")  # under 18
    settings = Settings(home=home, inbox=home / "inbox", demo_key=True)
    steps.prepare_warehouse(settings)
    result = steps.ingest_center("site_a", settings, steps.new_run_id(), load_key(demo=True))
    assert result.status == "loaded", result
    with duckdb.connect(str(settings.warehouse)) as con:
        rows, reviewed = con.execute("SELECT count(*), count(*) FILTER (reviewed_by = 'nobody') "
                                     "FROM quarantine").fetchone()
    assert rows > 0 and reviewed == rows, (rows, reviewed)
    print("followed")
''')


def test_a_field_added_to_the_quarantine_record_changes_ddl_dictionary_and_loader(tmp_path):
    anchor = '        "private store); never an identifier"))\n'
    quarantine = _changed_copy(tmp_path, "quarantine.py", anchor, NEW_FIELD)
    _run_in_copy(tmp_path, QUARANTINE_CHECKS)
    # ...while this interpreter's declaration is unchanged.
    assert "reviewed_by" not in quarantine_ddl() and "reviewed_by" not in STORED_COLUMNS
    assert quarantine.read_text(encoding="utf-8") != (PROJECT_ROOT / "schemas" / "quarantine.py").read_text(encoding="utf-8")
