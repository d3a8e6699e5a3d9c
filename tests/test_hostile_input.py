"""Broken and hostile exports: each gets a clear outcome, never a crash, never lost good rows."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from typer.testing import CliRunner

from harmonise.warehouse.private_store import store_path

from harmonise.pipeline.center import build_batch
from harmonise.pipeline.run import pseudonym_key
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_INBOX
from tests.conftest import ingest_all

PATIENTS = "site_a_patients.csv"
EVENTS = "site_a_adverse_events.csv"


def _path(inbox, name=PATIENTS):
    return inbox / "site_a" / name


def _frame(inbox, name=PATIENTS) -> pd.DataFrame:
    return pd.read_csv(_path(inbox, name), dtype=str, keep_default_na=False)


def _batch(settings):
    return build_batch("site_a", settings, pseudonym_key(settings))


def test_empty_file_fails_the_center_with_the_file_named(settings_for, inbox_copy):
    _path(inbox_copy).write_bytes(b"")
    results = ingest_all(settings_for(inbox_copy))
    assert results["site_a"].status == "failed"
    assert "site_a_patients.csv" in results["site_a"].message and "cannot be read" in results["site_a"].message
    assert results["site_b"].status == "loaded"


def test_header_only_patients_file_fails_instead_of_emptying_the_center(published_copy, inbox_copy):
    settings = published_copy
    header = _path(inbox_copy).read_bytes().splitlines(keepends=True)[0]
    _path(inbox_copy).write_bytes(header)
    result = ingest_all(settings)["site_a"]
    assert result.status == "failed" and "no rows" in result.message
    import duckdb
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM patient WHERE center_id='site_a'").fetchone()[0] == 52


def test_truncated_last_line_quarantines_that_row_only(settings_for, inbox_copy):
    data = _path(inbox_copy).read_bytes().rstrip(b"\n")
    _path(inbox_copy).write_bytes(data[: data.rfind(b",2019") if b",2019" in data[-200:] else len(data) - 60])
    batch = _batch(settings_for(inbox_copy))
    assert len(batch.clean["patient"]) == 51
    assert set(batch.quarantine.source_row.dropna()) >= {53}


def test_line_break_inside_a_cell_splits_the_record_into_quarantined_rows(settings_for, inbox_copy):
    data = _path(inbox_copy).read_bytes().split(b"\n")
    data[1] = data[1].replace(b",Male,", b",Ma\rle,").replace(b",Female,", b",Fe\rmale,")
    _path(inbox_copy).write_bytes(b"\n".join(data))
    batch = _batch(settings_for(inbox_copy))
    assert len(batch.clean["patient"]) == 51                  # only the damaged record is lost
    assert not batch.quarantine.empty


def test_wrong_encoding_fails_the_center_and_says_which_encoding(settings_for, inbox_copy):
    frame = _frame(inbox_copy)
    frame.to_csv(_path(inbox_copy), index=False, encoding="gbk")     # names in GBK, mapping says UTF-8
    result = ingest_all(settings_for(inbox_copy), centers=["site_a"])["site_a"]
    assert result.status == "failed" and "utf-8" in result.message and "encoding" in result.message


def test_repeated_adverse_event_row_loads_once(settings_for, inbox_copy):
    events = _frame(inbox_copy, EVENTS)
    dated = events[events["Onset date"] != ""].iloc[[0]]
    pd.concat([events, dated]).to_csv(_path(inbox_copy, EVENTS), index=False)
    batch = _batch(settings_for(inbox_copy))
    assert list(batch.quarantine.check_name) == ["duplicate_event"]
    assert len(batch.clean["adverse_event"]) == len(events)


@pytest.mark.parametrize("age, check", [("46,5", "type:integer"), ("17", "greater_than_or_equal_to(18)"),
                                        ("130", "less_than_or_equal_to(120)")])
def test_implausible_or_comma_decimal_ages_are_quarantined(settings_for, inbox_copy, age, check):
    frame = _frame(inbox_copy)
    frame.loc[3, "Age"] = age
    frame.to_csv(_path(inbox_copy), index=False)
    assert check in set(_batch(settings_for(inbox_copy)).quarantine.check_name)


FORMULA = '=HYPERLINK("http://attacker.example","click")'


def test_formula_injection_is_stored_as_text_and_printed_as_text(settings_for, inbox_copy):
    frame = _frame(inbox_copy)
    frame.loc[0, "Histology"] = FORMULA
    frame.loc[1, "Comments"] = FORMULA                       # dropped column: never read
    frame.to_csv(_path(inbox_copy), index=False)
    settings = settings_for(inbox_copy)
    ingest_all(settings, centers=["site_a"])
    result = CliRunner().invoke(app, ["sql", "SELECT failed_value FROM quarantine WHERE failed_value IS NOT NULL",
                                      "--warehouse", str(settings.warehouse)], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert '=AAAAAAAAA("aaaa://' in result.output            # its shape, printed as text
    assert "attacker" not in result.output
    private = store_path(settings.home, "site_a").read_text(encoding="utf-8")
    assert "'" + FORMULA.replace('"', '""') in private          # kept as text for a spreadsheet


def test_rich_markup_in_export_values_is_not_interpreted(settings_for, inbox_copy):
    frame = _frame(inbox_copy)
    frame.loc[0, "Histology"] = "[bold red]x[/bold red]"
    frame.to_csv(_path(inbox_copy), index=False)
    settings = settings_for(inbox_copy)
    ingest_all(settings, centers=["site_a"])
    result = CliRunner().invoke(app, ["sql", "SELECT failed_value FROM quarantine WHERE failed_value IS NOT NULL",
                                      "--warehouse", str(settings.warehouse)], env={"COLUMNS": "300"})
    assert "[aaaa aaa]a[/aaaa aaa]" in result.output         # its shape, brackets printed as text


def test_a_100_mb_cell_is_quarantined_with_a_short_excerpt(settings_for, inbox_copy):
    frame = _frame(inbox_copy)
    frame.loc[0, "Histology"] = "A" * 100_000_000
    frame.to_csv(_path(inbox_copy), index=False)
    del frame
    settings = settings_for(inbox_copy)
    results = ingest_all(settings, centers=["site_a"])
    assert results["site_a"].patients_loaded == 51
    import duckdb
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        longest = con.execute("SELECT max(length(failed_value)), max(length(reason)) FROM quarantine").fetchone()
    assert max(longest) < 1000


# -- property: random damage never crashes the run and never loses a valid row ---------------

DAMAGEABLE = ["Sex", "Age", "Histology", "Primary site", "Lung metastasis", "ECOG", "Start date",
              "PD-1 inhibitor", "Chemotherapy", "End of treatment", "Best response",
              "Progression date", "Death date", "Last follow-up", "Comments"]
# Cell damage only: a raw line break inside a cell is damage to the file's structure (tested above).
junk = st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30), st.sampled_from(["", "0", "-1", "1900-01-01", "2030-01-01",
                                                        "NaN", "None", "=1+1", "男", "PS 9", "9" * 40]))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(st.integers(0, 51), st.sampled_from(DAMAGEABLE), junk), max_size=8))
def test_random_damage_never_crashes_and_never_loses_a_valid_row(settings_for, inbox_copy, damage):
    original = pd.read_csv(DEMO_INBOX / "site_a" / PATIENTS, dtype=str, keep_default_na=False)
    frame = original.copy()
    for row, column, value in damage:
        frame.loc[row, column] = value
    frame.to_csv(_path(inbox_copy), index=False)
    batch = _batch(settings_for(inbox_copy))
    loaded_rows = set(batch.clean["patient"]._source_row)
    quarantined_rows = set(batch.quarantine.query("table_name == 'patient'").source_row.dropna())
    untouched = {row + 2 for row in range(len(frame)) if row not in {r for r, _, _ in damage}}
    assert untouched <= loaded_rows                               # every valid row loads
    assert loaded_rows | quarantined_rows == set(range(2, len(frame) + 2))   # nothing vanishes
    assert not loaded_rows & quarantined_rows
