"""The quarantine record: made once with facts, worded only when shown or stored."""
from __future__ import annotations

from harmonise.schemas.quarantine import QuarantineRecord, Rule, quarantine_frame, records_of
from harmonise.schemas.reasons import check_name, reason, rendered


def test_a_record_is_worded_from_its_facts_with_the_exports_own_column():
    record = QuarantineRecord(table_name="patient", rule=Rule.AT_LEAST, column_name="age_years",
                              source_column="Age", failed_value="15",
                              inputs={"check": "greater_than_or_equal_to(18)", "min_value": 18})
    assert reason(record) == ("Column 'Age' (age_years) value '15' must be at least 18. "
                              "Correct the value. The fix belongs in the export.")
    assert reason(record, general=True).startswith("Value '15' must be at least 18.")
    assert check_name(record) == "greater_than_or_equal_to(18)"


def test_an_unknown_code_names_its_vocabulary_as_an_input_not_inside_a_string():
    record = QuarantineRecord(table_name="patient", rule=Rule.UNKNOWN_CODE, column_name="sex",
                              source_column="SEX", failed_value="X",
                              inputs={"vocabulary": "sex", "where": "mappings/vocab/sex.yaml",
                                      "source": "SEX", "mapping_file": "mappings/x.yaml"})
    assert record.inputs["vocabulary"] == "sex"
    assert check_name(record) == "vocabulary:sex"
    assert "or to mappings/vocab/sex.yaml" in reason(record)


def test_a_frame_of_records_round_trips_to_the_same_typed_records():
    records = [QuarantineRecord(table_name="patient", rule=Rule.MISSING_TABLE, source_row=3,
                                inputs={"table": "outcome"}),
               QuarantineRecord(table_name="adverse_event", rule=Rule.HELD, source_file="ae.csv",
                                source_row=7, inputs={"cause_row": 3, "cause_file": "p.csv",
                                                      "cause_check": "has_outcome"})]
    frame = quarantine_frame(records, [11, 12])
    assert records_of(frame) == records
    shown = rendered(frame)
    assert list(shown.check_name) == ["has_outcome", "held_with_patient"]
    assert shown.reason.iloc[1] == ("Held because this patient's row 3 in p.csv was quarantined "
                                    "(has_outcome). It loads once that row is fixed.")
    assert list(shown._row_id) == [11, 12]


def test_an_empty_frame_renders_with_its_columns():
    shown = rendered(quarantine_frame())
    assert shown.empty and {"rule", "check_name", "reason"} <= set(shown.columns)


def test_the_stored_quarantine_carries_the_rule_code(demo_con):
    columns = [r[0] for r in demo_con.execute("DESCRIBE quarantine").fetchall()]
    assert {"rule", "check_name", "reason", "failed_value"} <= set(columns)


EVERY_INPUT = {"vocabulary": "v", "where": "w", "source": "s", "mapping_file": "m", "kind": "number",
               "formats": "%d", "pattern": "p", "check": "c", "min_value": 1, "max_value": 2,
               "allowed_values": ["a"], "dtype": "Int64", "error": "e", "table": "outcome",
               "first_file": "f", "first_row": 1, "cause_row": 1, "cause_file": "f", "cause_check": "c",
               "summary_file": "f", "target": "outcome.best_response", "summary_words": "w",
               "summary_value": "PR", "summary_rows": "3, 5", "other": "SD"}


def test_every_rule_has_words():
    for rule in Rule:
        record = QuarantineRecord(table_name="patient", rule=rule, failed_value="x", inputs=EVERY_INPUT)
        assert reason(record) and check_name(record)


def test_every_rule_says_where_its_fix_belongs_from_a_typed_property_not_from_its_words():
    from harmonise.schemas.quarantine import FIX_IN, FixIn
    assert set(FIX_IN) == set(Rule)
    assert FIX_IN[Rule.NOT_WHOLE_AGE] == (FixIn.MAPPING,)          # a mapping mistake, not the export's
    assert FixIn.PROJECT_CODES in FIX_IN[Rule.UNKNOWN_CODE]
    for rule, places in FIX_IN.items():
        record = QuarantineRecord(table_name="patient", rule=rule, failed_value="x", inputs=EVERY_INPUT)
        words = reason(record)
        assert all(p.words in words for p in places), (rule, words)
        assert ("The fix belongs in" in words) == bool(places), (rule, words)


def test_an_unknown_part_of_a_cell_is_worded_as_that_part():
    record = QuarantineRecord(table_name="treatment", rule=Rule.UNKNOWN_CODE, source_column="Regimen",
                              failed_value="Cabozantinib", inputs={
                                  "vocabulary": "agent", "where": "w", "source": "Regimen",
                                  "mapping_file": "m", "part_of_cell": True})
    assert reason(record).startswith("Column 'Regimen' part 'Cabozantinib' matches no spelling")

