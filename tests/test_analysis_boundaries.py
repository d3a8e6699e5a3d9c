"""The statistics layer reads only the warehouse: no imports of mappings/ or flows/."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from harmonise import analysis
from harmonise.analysis import views

FORBIDDEN = ("mappings", "flows", "warehouse", "demo")


def test_analysis_never_imports_pipeline_packages():
    for path in Path(analysis.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in FORBIDDEN for n in names), (path.name, names)


def test_views_read_cutoff_and_labels_from_warehouse(demo_con, published):
    assert views.cutoff_date(demo_con) == published["cutoff"]
    assert isinstance(published["cutoff"], dt.date)
    assert list(views.labels(demo_con, "histology"))[0] == "ASPS"
    assert len(views.patients(demo_con)) == published["n_patients"]
