"""Reading an export as sent: every row kept as text with its spreadsheet row number."""
from harmonise.mappings.model import FileSpec
from harmonise.mappings.readers import read_export


def _spec(**kw) -> FileSpec:
    return FileSpec(role="patients", name="p.csv", format="csv", encoding="utf-8", delimiter=";",
                    sheet=None, columns={}, **kw)


def test_blank_lines_are_dropped_and_a_row_with_an_empty_first_cell_is_kept(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("ID;SEX;AGE\nA1;male;50\n;;\n;female;61\n\nA4;;\n", encoding="utf-8")
    frame = read_export("site_x", path, _spec())
    assert list(frame["SEX"].fillna("-")) == ["male", "female", "-"]
    assert list(frame["ID"].fillna("-")) == ["A1", "-", "A4"]
    assert list(frame["_source_row"]) == [2, 4, 6]     # the rows as a spreadsheet numbers them


def test_a_file_without_blank_lines_is_read_whole(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("ID;SEX\n" + "".join(f"A{i};male\n" for i in range(50)), encoding="utf-8")
    frame = read_export("site_x", path, _spec())
    assert len(frame) == 50 and list(frame["_source_row"])[:2] == [2, 3]

