"""pandera's failure cases as quarantine records: one per failing (row, column, check).

pandera reports a failure by its check; the record carries our ``Rule`` and the inputs its
message needs (the check's statistics), never pandera's text parsed back.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import pandas as pd
import pandera.pandas as pa

from harmonise.schemas.canonical import DATAFRAME_CHECK_COLUMN, columns_of
from harmonise.schemas.quarantine import QuarantineRecord, Rule, quarantine_frame, shown_value


@contextmanager
def quiet_pandera():
    """pandera 0.35 + pandas 2.3 warn inside pandera's own error formatting; a data manager
    running `harmonise check` should not see that."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pandera")
        yield



def schema_failures(table: str, frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Run one table's pandera schema lazily; one record per failing (row, column, check)."""
    if frame.empty:
        return quarantine_frame()
    data = frame[columns_of(table)]
    try:
        with quiet_pandera():
            schema.validate(data, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _records_from_failure_cases(table, frame, schema, err.failure_cases)
    return quarantine_frame()


def _records_from_failure_cases(table: str, frame: pd.DataFrame, schema,
                                cases: pd.DataFrame) -> pd.DataFrame:
    # A dataframe-level check reports its failure once per column: keep one record per row,
    # about the column the check is about.
    is_frame_check = (cases["schema_context"] == "DataFrameSchema") & cases["check_number"].notna()
    frame_cases = cases[is_frame_check].drop_duplicates(subset=["check_number", "index"])
    records, row_ids = [], []
    for case in pd.concat([cases[~is_frame_check], frame_cases]).itertuples(index=False):
        rule, inputs, column = _rule_of(schema, case)
        index = case.index
        if index is None or (isinstance(index, float) and pd.isna(index)):
            targets = list(frame.index)  # a failure about the whole column: charge every row
        else:
            targets = [index]
        for idx in targets:
            value = frame.loc[idx, column] if column and rule is Rule.FAILS_CHECK and \
                case.schema_context == "DataFrameSchema" else case.failure_case
            records.append(QuarantineRecord(table_name=table, rule=rule, column_name=column,
                                            failed_value=shown_value(value), inputs=inputs))
            row_ids.append(frame.loc[idx, "_row_id"])
    return quarantine_frame(records, row_ids)


#: pandera's built-in checks -> our rule and the statistics its message needs.
_PANDERA_RULES = {
    "greater_than_or_equal_to": Rule.AT_LEAST, "less_than_or_equal_to": Rule.AT_MOST,
    "in_range": Rule.BETWEEN, "isin": Rule.NOT_ALLOWED, "str_matches": Rule.WRONG_FORM,
}
#: pandera's checks of the schema itself (no Check object): by their name.
_SCHEMA_RULES = {
    "not_nullable": Rule.REQUIRED, "field_uniqueness": Rule.DUPLICATE,
    "multiple_fields_uniqueness": Rule.DUPLICATE_PATIENT,
    "coerce_dtype": Rule.WRONG_TYPE, "dtype": Rule.WRONG_TYPE,
}


def _rule_of(schema, case) -> tuple[Rule, dict, str | None]:
    """The rule, message inputs and canonical column of one pandera failure case."""
    column = case.column if isinstance(case.column, str) else None
    inputs = {"check": str(case.check)}
    if pd.notna(case.check_number):
        if case.schema_context == "DataFrameSchema":
            check = schema.checks[int(case.check_number)]
            column = DATAFRAME_CHECK_COLUMN.get(check.name)
        else:
            check = schema.columns[column].checks[int(case.check_number)]
        rule = _PANDERA_RULES.get(check.name, Rule.FAILS_CHECK)
        if rule is Rule.FAILS_CHECK:
            return rule, {"check": check.name, "error": check.error}, column
        return rule, inputs | check.statistics, column
    rule = _SCHEMA_RULES.get(str(case.check).split("(")[0], Rule.FAILS_CHECK)
    if rule is Rule.WRONG_TYPE:
        inputs["dtype"] = str(schema.columns[column].dtype)
    return rule, inputs | {"error": str(case.check)}, column
