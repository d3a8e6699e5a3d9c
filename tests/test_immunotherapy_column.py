"""The immunotherapy column holds PD-1 and PD-L1 inhibitors; its old name is told, not guessed."""
from __future__ import annotations

import duckdb
import pytest

from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import load_mapping
from harmonise.schemas.canonical import agent_class_columns
from harmonise.schemas.codes import codes
from harmonise.schemas.quarantine import FixIn
from harmonise.warehouse import store
from harmonise.warehouse.ddl import canonical_ddl


def test_a_mapping_still_naming_pd1_agent_is_told_the_new_column_and_its_line(tmp_path):
    (tmp_path / "x_site.yaml").write_text(
        "center: x_site\nfiles:\n  - role: patients\n    name: p.csv\n    columns:\n"
        "      ID: {identifier: pseudonymise}\n      PD1: {to: treatment.pd1_agent, vocab: agent}\n",
        encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping("x_site", tmp_path)
    assert "treatment.immunotherapy_agent" in err.value.message
    assert err.value.line == 7 and err.value.fix == (FixIn.MAPPING,)
    assert "The fix belongs in the mapping." in err.value.message


def test_the_immunotherapy_class_fills_the_immunotherapy_column():
    assert agent_class_columns() == {"immunotherapy": "immunotherapy_agent",
                                     "antiangiogenic": "antiangiogenic_agents",
                                     "cytotoxic": "cytotoxic_agents"}
    assert "pembrolizumab" in codes("agent", **{"class": "immunotherapy"})


def test_a_warehouse_made_before_the_rename_keeps_its_rows_under_the_new_name(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    for ddl in canonical_ddl():
        con.execute(ddl.replace("immunotherapy_agent", "pd1_agent"))
    con.execute("INSERT INTO treatment (center_id, patient_key, course_no, start_date, line_of_therapy,"
                " pd1_agent, source_file, source_sha256, source_row, mapping_version, load_id) VALUES"
                " ('a', 'k', 1, DATE '2020-01-01', 1, 'sintilimab', 'f', 's', 2, 'v', 'l')")
    store.ensure_tables(con)
    assert con.execute("SELECT immunotherapy_agent FROM treatment").fetchall() == [("sintilimab",)]
    store.ensure_tables(con)  # a second run changes nothing
    assert "pd1_agent" not in {r[0] for r in con.execute("DESCRIBE treatment").fetchall()}
