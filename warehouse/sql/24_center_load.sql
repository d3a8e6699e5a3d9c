-- Table center_load. Grain: one row per center: the load currently published for it.
-- Written in the same transaction as the center's rows, so it always describes them;
-- an unchanged export (same load_id) is skipped by the next run unless --force.
CREATE TABLE IF NOT EXISTS center_load (
    center_id VARCHAR PRIMARY KEY,
    load_id   VARCHAR NOT NULL,
    run_id    VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
