"""Header location, footers, derived fields, age rules and "not recorded", on real files per test."""
from __future__ import annotations

import pandas as pd
import pytest

from harmonise.mappings.derive import age_from_birth_date, apply_age_rule
from harmonise.mappings.engine import map_center
from harmonise.mappings.errors import CenterError, MappingError
from harmonise.mappings.pseudonym import DEMO_KEY
from harmonise.schemas.reasons import rendered
from harmonise.schemas.validate import validate_center
from tests.conftest import MINIMAL_COLUMNS, patients_mapping, write_center

KEY = DEMO_KEY.encode()


def _map(tmp_path, yaml_text, files):
    return map_center(write_center(tmp_path, yaml_text, files), tmp_path / "inbox", KEY)


def _full(options: str, columns: str) -> str:
    """The minimal mapping, read with `;`, plus file ``options`` and more ``columns``."""
    return patients_mapping(MINIMAL_COLUMNS + f"      {columns}\n", options=f'    delimiter: ";"\n    {options}\n')


def test_header_row_skips_a_title_block_and_keeps_spreadsheet_row_numbers(tmp_path):
    text = "Study export 2024;;\nprinted 2024-05-01;;\n\nID;SEX;\nA1;male;\nA2;female;\n"
    mapped = _map(tmp_path, _full(options="header_row: 4", columns="''Unnamed: 2'': drop")
                  .replace("''Unnamed: 2'': drop", '"Unnamed: 2": drop'), {"p.csv": text.encode()})
    patient = mapped.frames["patient"]
    assert list(patient.sex) == ["male", "female"]
    assert list(patient._source_row) == [5, 6]      # the rows a spreadsheet shows


def test_footer_rows_are_skipped_by_position_and_by_rule(tmp_path):
    text = "ID;SEX\nA1;male\nA2;female\nTotal;2 patients\nprinted by HIS\n"
    mapped = _map(tmp_path, _full(
        options="skip_footer: 1\n    skip_rows: [{column: ID, equals: total}]", columns=""),
        {"p.csv": text.encode()})
    assert list(mapped.frames["patient"].sex) == ["male", "female"]
    assert mapped.quarantine.empty


def test_age_from_birth_date_counts_completed_years_at_the_start_of_therapy():
    birth = pd.Series(pd.to_datetime(["1970-03-05", "1970-03-06", "1972-02-29", None]))
    start = pd.Series(pd.to_datetime(["2023-03-05", "2023-03-05", "2023-02-28", "2023-01-01"]))
    assert age_from_birth_date(birth, start).tolist() == [53, 52, 50, pd.NA]


def test_birth_date_becomes_an_age_and_is_never_kept_even_when_it_fails(tmp_path):
    text = ("ID;SEX;DOB;START\nA1;male;1970-03-05;2023-03-05\nA2;female;05/06/1960;2023-03-05\n"
            "A3;male;2010-01-01;2023-03-05\n")
    mapped = _map(tmp_path, _full(options="", columns=(
        "DOB: {to: patient.age_years, derive: age_from_birth_date}\n"
        "      START: {to: treatment.start_date}")), {"p.csv": text.encode()})
    assert mapped.frames["patient"].age_years.tolist()[0] == 53
    validated = validate_center("x_site", mapped.frames, pd.Timestamp("2024-05-25"), mapped.quarantine)
    quarantine = rendered(validated.quarantine)
    assert {"date_format", "greater_than_or_equal_to(18)"} <= set(quarantine.check_name)
    everything = quarantine.astype(str).to_string() + mapped.frames["patient"].astype(str).to_string()
    for birth in ("1970-03-05", "05/06/1960", "2010-01-01", "1960", "2010"):
        assert birth not in everything
    assert "13" in set(quarantine.failed_value.dropna())   # the age, which is not identifying


def test_death_flag_and_prior_lines_derive_the_death_date_and_the_line(tmp_path):
    text = ("ID;SEX;START;LAST;DEAD;PRIOR\nA1;male;2023-01-01;2023-06-01;yes;0\n"
            "A2;female;2023-01-01;2023-09-01;no;2\n")
    mapped = _map(tmp_path, _full(options="derived: {treatment.line_of_therapy: line_after_prior_lines}",
                                        columns=(
        "START: {to: treatment.start_date}\n"
        "      LAST: {to: outcome.last_followup_date}\n"
        "      DEAD: {to: outcome.death_date, derive: death_flag}\n"
        "      PRIOR: {to: patient.prior_lines}")), {"p.csv": text.encode()})
    outcome, treatment = mapped.frames["outcome"], mapped.frames["treatment"]
    assert outcome.death_date.tolist()[0] == pd.Timestamp("2023-06-01")
    assert pd.isna(outcome.death_date.tolist()[1])
    assert treatment.line_of_therapy.tolist() == [1, 3]


@pytest.mark.parametrize("rule, expected, broken", [
    ("round", [41, 42, 34], [False, False, False]),
    ("floor", [41, 41, 33], [False, False, False]),
    ("as_given", [41, pd.NA, pd.NA], [False, True, True]),
])
def test_age_rule_makes_whole_years_as_declared(rule, expected, broken):
    ages, bad = apply_age_rule(pd.Series([41.0, 41.5, 33.5], dtype="Float64"), rule)
    assert ages.tolist() == expected
    assert bad.tolist() == broken


def test_decimal_comma_ages_with_a_declared_rule_load(tmp_path):
    text = "ID;SEX;AGE\nA1;male;41,5\nA2;female;33,5\n"
    mapped = _map(tmp_path, _full(options='decimal: ","', columns=(
        "AGE: {to: patient.age_years, age_rule: floor}")), {"p.csv": text.encode()})
    assert mapped.frames["patient"].age_years.tolist() == [41, 33]
    assert mapped.quarantine.empty


def test_an_age_with_a_fraction_and_no_rule_says_which_rule_to_declare(tmp_path):
    text = "ID;SEX;AGE\nA1;male;41.5\n"
    mapped = _map(tmp_path, _full(options="", columns="AGE: {to: patient.age_years}"),
                  {"p.csv": text.encode()})
    reason = rendered(mapped.quarantine).reason.iloc[0]
    assert "age_rule: round" in reason and "age_rule: floor" in reason


def test_not_recorded_fields_load_empty_and_skip_the_rule_that_reads_them(tmp_path):
    text = "ID;SEX;START;LAST\nA1;male;2023-01-01;2023-06-01\n"
    mapping = write_center(tmp_path, _full(
        options="not_recorded: [treatment.discontinuation_reason, treatment.end_date]",
        columns="START: {to: treatment.start_date}\n      LAST: {to: outcome.last_followup_date}"),
        {"p.csv": text.encode()})
    mapped = map_center(mapping, tmp_path / "inbox", KEY)
    checks = {}
    for not_recorded in (frozenset(), mapping.not_recorded):
        validated = validate_center("x_site", mapped.frames, pd.Timestamp("2024-05-25"),
                                    mapped.quarantine, not_recorded=not_recorded)
        q = rendered(validated.quarantine)
        about = q[q.column_name.isin(["discontinuation_reason", "end_date"])]
        checks[bool(not_recorded)] = set(about.check_name)
    assert {"not_nullable", "end_date_matches_reason"} <= checks[False]
    assert not checks[True] & {"not_nullable", "end_date_matches_reason"}


def test_not_recorded_is_refused_for_a_field_the_analyses_need(tmp_path):
    with pytest.raises(MappingError) as err:
        write_center(tmp_path, _full(options="not_recorded: [patient.sex]", columns=""), {})
    assert "the study's analyses need it" in err.value.message
    assert "treatment.discontinuation_reason" in err.value.message   # what may be not recorded


def test_a_birth_date_typed_as_date_into_the_age_is_refused_naming_derive(tmp_path):
    with pytest.raises(MappingError) as err:
        write_center(tmp_path, _full(options="", columns="DOB: {to: patient.age_years, type: date}"), {})
    assert "derive: age_from_birth_date" in err.value.message


def test_every_structural_problem_of_a_center_is_reported_at_once(tmp_path):
    text = "ID;GENDER;EXTRA\nA1;male;x\n"
    mapping = write_center(tmp_path, _full(options="", columns="AGE: {to: patient.age_years}"),
                     {"p.csv": text.encode(), "visits.csv": b"ID;VISIT\n"})
    with pytest.raises(CenterError) as err:
        map_center(mapping, tmp_path / "inbox", KEY)
    message = err.value.message
    for part in ("'SEX'", "'AGE'", "'GENDER'", "'EXTRA'", "visits.csv", "ignore_files"):
        assert part in message


def test_every_rule_that_can_quarantine_a_row_is_documented_with_an_example():
    from harmonise.flows.settings import PROJECT_ROOT
    from harmonise.schemas.canonical import TABLES, Timeline
    from harmonise.schemas.quarantine import Rule

    doc = (PROJECT_ROOT / "docs" / "mapping-language.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Rules that can quarantine a row"):]
    named = {c.name for model in (*TABLES.values(), Timeline) for c in model.to_schema().checks}
    missing = [r.value for r in Rule if f"`{r.value}`" not in section and r.value not in section]
    missing += [n for n in named if n not in section]
    assert missing == []
