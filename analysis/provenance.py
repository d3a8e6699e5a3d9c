"""Where the report's data came from: load attempts, files, checksums and the quarantine.

Reads only ``load_log`` (the append-only audit trail), ``quarantine`` (replaced per center
at each load, so it describes the data now in the warehouse) and ``v_patient``.

* The **last attempt** of a center is its rows of the latest ``run_id`` in ``load_log``
  (the rule of ``harmonise status``). A ``skipped`` or ``failed`` attempt leaves the
  previous load in place, so the files of the **last successful load** (the data in this
  report) are listed too when they differ from the last attempt.
"""
from __future__ import annotations

import duckdb

from harmonise.analysis.results import Provenance

FILES_SQL = """
WITH last AS (
    SELECT center_id, max(run_id) AS run_id FROM load_log GROUP BY center_id
), last_loaded AS (
    SELECT center_id, max(run_id) AS run_id FROM load_log WHERE status = 'loaded'
    GROUP BY center_id
), picked AS (
    SELECT l.*,
           l.run_id = la.run_id AS is_last_attempt,
           l.run_id = ll.run_id AS is_data_in_report
    FROM load_log l
    JOIN last la USING (center_id)
    LEFT JOIN last_loaded ll USING (center_id)
    WHERE l.run_id = la.run_id OR l.run_id = ll.run_id
)
SELECT center_id, run_id, status, file_name, file_sha256, rows_read, rows_loaded,
       rows_quarantined, message, mapping_version, started_at, finished_at, load_id,
       is_last_attempt, coalesce(is_data_in_report, false) AS is_data_in_report
FROM picked
ORDER BY center_id, run_id DESC, file_name
"""

CENTERS_SQL = """
WITH last AS (
    SELECT center_id, max(run_id) AS run_id FROM load_log GROUP BY center_id
), attempts AS (
    SELECT center_id, count(DISTINCT run_id) AS attempts FROM load_log GROUP BY center_id
), patients AS (
    SELECT center_id, count(*) AS patients FROM v_patient GROUP BY center_id
), held AS (
    SELECT center_id, count(*) AS quarantine_records FROM quarantine GROUP BY center_id
)
SELECT l.center_id, any_value(l.run_id) AS run_id, any_value(l.status) AS status,
       min(l.started_at) AS started_at, max(l.finished_at) AS finished_at,
       count(l.file_name) AS files, sum(l.rows_read) AS rows_read,
       sum(l.rows_loaded) AS rows_loaded, sum(l.rows_quarantined) AS rows_quarantined,
       any_value(l.message) AS message, any_value(a.attempts) AS attempts,
       coalesce(any_value(p.patients), 0) AS patients_in_report,
       coalesce(any_value(h.quarantine_records), 0) AS quarantine_records
FROM load_log l
JOIN last USING (center_id, run_id)
JOIN attempts a USING (center_id)
LEFT JOIN patients p USING (center_id)
LEFT JOIN held h USING (center_id)
GROUP BY l.center_id
ORDER BY l.center_id
"""

QUARANTINE_COUNTS_SQL = """
SELECT center_id, table_name, check_name, count(*) AS records,
       count(DISTINCT (source_file, source_row)) AS source_rows,
       min(reason) AS example_reason
FROM quarantine
GROUP BY center_id, table_name, check_name
ORDER BY center_id, table_name, check_name
"""

QUARANTINE_ROWS_SQL = """
SELECT center_id, table_name, source_file, source_row, column_name, source_column,
       check_name, failed_value, reason
FROM quarantine
ORDER BY center_id, source_file, source_row, table_name, column_name, check_name
"""


def provenance(con: duckdb.DuckDBPyConnection) -> Provenance:
    """Provenance frames of the report.

    Returns
    -------
    Provenance
        ``centers``: one row per center, its last attempt (status, times, files, rows
        read / loaded / quarantined, message), the number of attempts, the patients in
        the report and the quarantine records now held. ``files``: one row per file of the
        last attempt and, when different, of the last successful load
        (``is_last_attempt``, ``is_data_in_report``). ``quarantine_counts``: records per
        center, table and check with one example reason. ``quarantine``: every record
        (no patient identifier or pseudonym). ``quality_changes``: per center, each finding
        (table, column, rule) new, persisting or resolved since the center's previous run.
        ``duplicates``: per pair of centers, the patients whose fingerprints match (likely
        the same person counted at both; ``v_duplicate_pair``).
    """
    return Provenance(centers=con.sql(CENTERS_SQL).df(), files=con.sql(FILES_SQL).df(),
                      quarantine_counts=con.sql(QUARANTINE_COUNTS_SQL).df(),
                      quarantine=con.sql(QUARANTINE_ROWS_SQL).df(),
                      quality_changes=quality_changes(con), duplicates=duplicate_pairs(con))


QUALITY_CHANGES_SQL = """
SELECT center_id, change, table_name, column_name, source_column, rule, rows_now, rows_before,
       first_seen_at, run_id, previous_run_id
FROM v_quality_change
"""


def duplicate_pairs(con: duckdb.DuckDBPyConnection):
    """``v_duplicate_pair`` (empty for a warehouse written before the view)."""
    try:
        return con.sql("SELECT center_id, other_center_id, patients FROM v_duplicate_pair "
                       "ORDER BY center_id, other_center_id").df()
    except duckdb.CatalogException:
        import pandas as pd
        return pd.DataFrame(columns=["center_id", "other_center_id", "patients"])


def quality_changes(con: duckdb.DuckDBPyConnection):
    """``v_quality_change`` (empty for a warehouse written before the quarantine history)."""
    try:
        return con.sql(QUALITY_CHANGES_SQL).df()
    except duckdb.CatalogException:
        import pandas as pd
        return pd.DataFrame(columns=["center_id", "change", "table_name", "column_name",
                                     "source_column", "rule", "rows_now", "rows_before",
                                     "first_seen_at", "run_id", "previous_run_id"])
