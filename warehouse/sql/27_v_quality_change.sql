-- View v_quality_change. Grain: one row per center and finding (table, column, export column,
-- rule) present in the center's last recorded run or the one before it.
-- change: new (only in the last run), resolved (only in the one before: fixed, or released by
-- a corrected mapping), persisting (in both; first_seen_at says since when).
CREATE OR REPLACE VIEW v_quality_change AS
WITH runs AS (
    SELECT center_id, run_id, recorded_at,
           row_number() OVER (PARTITION BY center_id ORDER BY recorded_at DESC, run_id DESC) AS n
    FROM quality_run
),
last_run AS (SELECT center_id, run_id, recorded_at FROM runs WHERE n = 1),
previous_run AS (SELECT center_id, run_id FROM runs WHERE n = 2),
now AS (SELECT h.* FROM quarantine_history h JOIN last_run USING (center_id, run_id)),
before AS (SELECT h.* FROM quarantine_history h JOIN previous_run USING (center_id, run_id)),
first_seen AS (
    SELECT center_id, table_name, column_name, source_column, rule, min(recorded_at) AS first_seen_at
    FROM quarantine_history GROUP BY ALL
),
paired AS (
    SELECT coalesce(a.center_id, b.center_id) AS center_id,
           coalesce(a.table_name, b.table_name) AS table_name,
           coalesce(a.column_name, b.column_name) AS column_name,
           coalesce(a.source_column, b.source_column) AS source_column,
           coalesce(a.rule, b.rule) AS rule,
           CASE WHEN b.rule IS NULL THEN 'new' WHEN a.rule IS NULL THEN 'resolved'
                ELSE 'persisting' END AS change,
           coalesce(a.source_rows, 0) AS rows_now,
           coalesce(b.source_rows, 0) AS rows_before,
           coalesce(a.records, 0) AS records_now,
           coalesce(b.records, 0) AS records_before
    FROM now a FULL JOIN before b
      ON a.center_id = b.center_id AND a.table_name = b.table_name
     AND a.column_name IS NOT DISTINCT FROM b.column_name
     AND a.source_column IS NOT DISTINCT FROM b.source_column AND a.rule = b.rule
)
SELECT p.center_id, l.run_id, pr.run_id AS previous_run_id, p.change, p.table_name,
       p.column_name, p.source_column, p.rule, p.rows_now, p.rows_before, p.records_now,
       p.records_before, f.first_seen_at
FROM paired p
JOIN last_run l USING (center_id)
LEFT JOIN previous_run pr USING (center_id)
LEFT JOIN first_seen f ON f.center_id = p.center_id AND f.table_name = p.table_name
     AND f.column_name IS NOT DISTINCT FROM p.column_name
     AND f.source_column IS NOT DISTINCT FROM p.source_column AND f.rule = p.rule
ORDER BY p.center_id, CASE p.change WHEN 'new' THEN 0 WHEN 'persisting' THEN 1 ELSE 2 END,
         p.table_name, p.column_name, p.rule;
