"""Storing a validated batch: what DuckDB is told about the rows it reads."""
import duckdb
import pandas as pd

from harmonise.warehouse.loader import text_as_varchar


def test_a_load_reads_text_columns_as_text_and_gives_the_sampling_setting_back():
    con = duckdb.connect()
    frame = pd.DataFrame({"code": pd.Series([None] * 5, dtype=object)})  # sampled: a guess
    with text_as_varchar(con):
        con.register("incoming", frame)
        kinds = con.execute("DESCRIBE SELECT * FROM incoming").fetchall()
    assert kinds[0][1] == "VARCHAR"
    con.register("outside", frame)          # outside, DuckDB samples and guesses
    assert con.execute("DESCRIBE SELECT * FROM outside").fetchall()[0][1] != "VARCHAR"
    assert con.execute("SELECT current_setting('pandas_analyze_sample')").fetchone()[0] == 1000
