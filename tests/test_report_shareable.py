"""The shareable report (``harmonise report --shareable``): no count below the threshold is shown,
and none can be computed back from everything the shareable outputs show.

The report is of the demo with three quarantined rows at site_a (small cells everywhere:
site_c's 11 patients, categories of 1-4 patients, 2 + 1 quarantined rows). The attacker
below is written from the outputs alone (numbers/report.json, as a reader has it): it forms
every sum a reader can (totals minus visible cells, per-center sums, at risk + censored +
events = patients at each tick, cumulative counts, groups adding up to all patients,
percentages x n, O/E x expected), and for each withheld cell finds the least and greatest
value consistent with all of them (a linear programme; ``<5`` cells are in 1..4, ``[c]``
cells >= 0). A cell is recovered when that range holds one whole number.
"""
from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from harmonise.analysis.plan import load_plan
from harmonise.flows.cli import app

K = 5
SMALL, COMPLEMENT = "<5", "[c]"
PLAN = load_plan()


@pytest.fixture(scope="module")
def shareable(damaged_warehouse) -> Path:
    result = CliRunner().invoke(app, ["report", "--warehouse", str(damaged_warehouse),
                                      "--shareable"])
    assert result.exit_code == 0, result.output
    path = Path(re.search(r"Report: (\S+report\.html)", result.output).group(1))
    assert path.parent.name.endswith("-shareable")
    return path


@pytest.fixture(scope="module")
def doc(shareable) -> dict:
    return json.loads((shareable.parent / "numbers" / "report.json").read_text("utf-8"))


class Reader:
    """What a reader knows: shown counts, withheld cells, and the sums between them."""

    def __init__(self):
        self.known, self.hidden, self.sums, self.orders = {}, {}, [], []

    def cell(self, key, value):
        if isinstance(value, str) and value in (SMALL, COMPLEMENT):
            self.hidden[key] = value
        elif value is not None and not (isinstance(value, float) and math.isnan(value)):
            self.known[key] = float(value)
        return key

    def total(self, total, parts):
        self.sums.append((total, tuple(parts)))

    def at_most(self, a, b):
        self.orders.append((a, b))

    def derived(self, key, rate, n):
        """A percentage or rate shown beside a known n gives its count back."""
        if isinstance(rate, (int, float)) and key[:-1] and n in self.known:
            self.known[key] = round(rate * self.known[n])

    def recovered(self) -> list:
        """Withheld cells whose value the shown ones fix: per group of linked withheld cells,
        one linear programme; points of it from random objectives rule out most cells, the
        others get their least and greatest value."""
        links = [(t, *p) for t, p in self.sums] + list(self.orders)
        shown = [cells for cells in links
                 if all(c in self.known or c in self.hidden for c in cells)]
        parent = {c: c for c in self.hidden}

        def root(c):
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c
        for cells in shown:
            hid = [c for c in cells if c in self.hidden]
            for a, b in zip(hid, hid[1:]):
                parent[root(a)] = root(b)
        groups = defaultdict(list)
        for c in self.hidden:
            groups[root(c)].append(c)
        out = []
        for members in groups.values():
            out += self._fixed(sorted(members, key=repr), shown)
        return out

    def _fixed(self, cells, shown) -> list:
        index = {c: i for i, c in enumerate(cells)}
        eq, eqr, ub, ubr = [], [], [], []
        for total, parts in self.sums:
            members = [(total, -1.0), *((p, 1.0) for p in parts)]
            if (total, *parts) not in shown or not any(c in index for c, _ in members):
                continue
            row, const = np.zeros(len(cells)), 0.0
            for c, sign in members:
                if c in index:
                    row[index[c]] += sign
                elif c in self.known:
                    const -= sign * self.known[c]
                else:
                    break                       # withheld, in another group: not linked
            else:
                eq.append(row)
                eqr.append(const)
        for a, b in self.orders:
            if (a, b) not in shown or not (a in index or b in index):
                continue
            row, const = np.zeros(len(cells)), 0.0
            for c, sign in ((a, 1.0), (b, -1.0)):
                if c in index:
                    row[index[c]] += sign
                else:
                    const -= sign * self.known[c]
            ub.append(row)
            ubr.append(const)
        lp = dict(A_eq=np.array(eq) if eq else None, b_eq=np.array(eqr) if eqr else None,
                  A_ub=np.array(ub) if ub else None, b_ub=np.array(ubr) if ubr else None,
                  bounds=[(1, K - 1) if self.hidden[c] == SMALL else (0, 1e6) for c in cells],
                  method="highs")
        low, high = np.full(len(cells), np.inf), np.full(len(cells), -np.inf)

        def point(cost):
            done = linprog(cost, **lp)
            assert done.status == 0, done.message
            np.minimum(low, done.x, out=low)
            np.maximum(high, done.x, out=high)
        rng = np.random.default_rng(1)
        for _ in range(4):
            cost = rng.normal(size=len(cells))
            point(cost)
            point(-cost)
        fixed = []
        for c, i in index.items():
            for sign in (1.0, -1.0):
                if high[i] - low[i] < 0.5:
                    cost = np.zeros(len(cells))
                    cost[i] = sign
                    point(cost)
            if math.ceil(low[i] - 1e-6) >= math.floor(high[i] + 1e-6):
                fixed.append((c, low[i], high[i]))
        return fixed


def read(doc: dict) -> Reader:
    """Every count and sum a reader can take from report.json (built here, from the outputs)."""
    r = Reader()
    ends = [e.name for e in PLAN.endpoints]
    for row in doc["attrition"]:
        c = row["center"]
        for col in ("rows_read", "rows_quarantined", "patients"):
            r.cell(("flow", col, c), row[col])
        for e in ends:
            r.cell(("flow", "analysed", c, e), row[f"analysed_{e}"])
            r.cell(("flow", "no_time", c, e), row[f"no_time_{e}"])
            r.total(("flow", "patients", c), [("flow", "analysed", c, e), ("flow", "no_time", c, e)])
    centers = [row["center"] for row in doc["attrition"] if row["center"] != "Total"]
    for col in ("rows_read", "rows_quarantined", "patients"):
        r.total(("flow", col, "Total"), [("flow", col, c) for c in centers])
    for e in ends:
        for col in ("analysed", "no_time"):
            r.total(("flow", col, "Total", e), [("flow", col, c, e) for c in centers])
    for row in doc["provenance_centers"]:
        c = row["center_id"]
        r.total(r.cell(("flow", "rows_read", c), row["rows_read"]),
                [r.cell(("loaded", c), row["rows_loaded"]),
                 r.cell(("flow", "rows_quarantined", c), row["rows_quarantined"])])
        r.total(r.cell(("flow", "patients", c), row["patients_in_report"]), [("flow", "patients", c)])
        r.cell(("records", c), row["quarantine_records"])
        checks = [q for q in doc["quarantine_counts"] if q["center_id"] == c]
        r.total(("records", c), [r.cell(("check", c, q["table_name"], q["check_name"]),
                                        q["records"]) for q in checks])
    for q in doc["quarantine_counts"]:
        r.cell(("source_rows", q["center_id"], q["table_name"], q["check_name"]), q["source_rows"])
    for d in doc["duplicate_pairs"]:
        r.cell(("dup", d["center_id"], d["other_center_id"]), d["patients"])
    _tables(r, doc)
    _survival(r, doc, ends)
    return r


def _tables(r: Reader, doc: dict) -> None:
    counted = {row.section for row in PLAN.table1.rows if row.count} | {"patients"}
    t1 = [x for x in doc["table1"] if x["item"] not in ("median", "min", "max")]
    cols = sorted({x["column"] for x in t1} - {"Total"})
    by_item = defaultdict(dict)
    for x in t1:
        key = r.cell(("t1", x["section"], x["item"], x["column"]), x["value"])
        by_item[(x["section"], x["item"])][x["column"]] = key
        pct = ("t1", x["section"], x["item"], x["column"], "pct")
        r.derived(pct, x["percent"] / 100 if isinstance(x["percent"], float) else None,
                  ("t1", "patients", "n", x["column"]))
        if pct in r.known:
            r.total(pct, [key])
    for (section, item), keys in by_item.items():
        r.total(keys["Total"], [keys[c] for c in cols])
    for section in counted - {"patients"}:
        items = [i for (s, i) in by_item if s == section]
        for c in [*cols, "Total"]:
            r.total(("t1", "patients", "n", c), [("t1", section, i, c) for i in items])
    r.total(("flow", "patients", "Total"), [("t1", "patients", "n", "Total")])
    for x in doc["table2"]:
        grades = [r.cell(("t2", x["term"], g), x[g]) for g in
                  ("grade1", "grade2", "grade3", "grade4", "grade5")]
        r.total(r.cell(("t2", x["term"], "any"), x["any_grade"]), grades)
        for g in ("grade1", "grade2", "grade3", "grade4", "grade5", "any_grade"):
            pct = x[f"pct_{g}"]
            if isinstance(pct, (int, float)):
                r.total(("t2", x["term"], g, "pct"), [("t2", x["term"], g.removesuffix("_grade")
                                                       if g == "any_grade" else g)])
                r.known[("t2", x["term"], g, "pct")] = round(pct / 100 * x["patients"])
    groups = defaultdict(list)
    for x in doc["response"]:
        base = ("resp", x["grouping"], str(x["group"]))
        n = r.cell(base + ("n",), x["n"])
        parts = [r.cell(base + (c,), x[c]) for c in ("CR", "PR", "SD", "PD", "NE")]
        r.total(n, parts)
        r.total(base + ("orr",), parts[:2])
        r.total(base + ("dcr",), parts[:3])
        for rate in ("orr", "dcr"):
            r.derived(base + (rate,), x[rate], n)
        groups[x["grouping"]].append(base)
    for grouping, bases in groups.items():
        if grouping == "All patients":
            continue
        for col in ("n", "CR", "PR", "SD", "PD", "NE", "orr", "dcr"):
            r.total(("resp", "All patients", "all", col), [b + (col,) for b in bases])
    r.total(("flow", "patients", "Total"), [("resp", "All patients", "all", "n")])


def _survival(r: Reader, doc: dict, ends: list) -> None:
    for x in doc["km_summary"]:
        r.total(r.cell(("flow", "analysed", "Total", x["endpoint"]), x["n"]),
                [r.cell(("km", x["endpoint"], "n"), x["n"])])
        r.cell(("events", "all", x["endpoint"], "all"), x["events"])
    for x in doc["followup"]:
        r.total(r.cell(("km", PLAN.followup, "n"), x["n"]),
                [r.cell(("fu", "censored"), x["censored"]), ("events", "all", PLAN.followup, "all")])
    population = {c.name: c.population.name for c in PLAN.comparisons}
    for x in doc["comparisons"]:
        g = (x["comparison"], x["endpoint"], str(x["group_value"]))
        r.cell(("n",) + g, x["n"])
        r.total(r.cell(("events",) + g, x["events"]), [r.cell(("observed",) + g, x["observed"])])
        if isinstance(x["o_e_ratio"], float) and isinstance(x["expected"], float):
            r.known[("oe",) + g] = round(x["o_e_ratio"] * x["expected"])
            r.total(("oe",) + g, [("events",) + g])
    by_cmp = defaultdict(list)
    for x in doc["comparisons"]:
        by_cmp[(x["comparison"], x["endpoint"])].append(str(x["group_value"]))
    for (c, e), values in by_cmp.items():
        if population[c] == "all":
            r.total(("flow", "analysed", "Total", e), [("n", c, e, v) for v in values])
            r.total(("events", "all", e, "all"), [("events", c, e, v) for v in values])
    figs = {f["key"]: f for f in doc["figures"]}
    for x in doc["figure_curves"]:
        f = figs[x["key"]]
        g = (f["comparison"], f["endpoint"], str(x["group_value"]))
        n = ("flow", "analysed", "Total", f["endpoint"]) if f["comparison"] == "all" else ("n",) + g
        r.total(n, [r.cell(("curve_n", x["key"]) + g, x["n"])])
        r.total(("events",) + g, [r.cell(("curve_events", x["key"]) + g, x["events"])])
    ticks = defaultdict(set)
    for x in doc["figure_risk_table"]:
        f = figs[x["key"]]
        g = (f["comparison"], f["endpoint"], str(x["group_value"]))
        t = float(x["time"])
        ticks[g].add(t)
        keys = [r.cell(("risk", x["key"], *g, t, col), x[col])
                for col in ("at_risk", "censored", "events")]
        n = ("flow", "analysed", "Total", f["endpoint"]) if f["comparison"] == "all" else ("n",) + g
        r.total(n, keys)
        r.total(("risk", *g, t, "at_risk"), [keys[0]])   # the same count in every panel
        r.total(("risk", *g, t, "censored"), [keys[1]])
        r.total(("risk", *g, t, "events"), [keys[2]])
        r.known.setdefault(("risk", *g, t, "at_risk"), None)
    for x in doc["figure_at_risk"]:
        f = figs[x["key"]]
        g = (f["comparison"], f["endpoint"], str(x["group_value"]))
        r.total(("risk", *g, float(x["time"]), "at_risk"),
                [r.cell(("at_risk", x["key"], *g, float(x["time"])), x["at_risk"])])
    for key in [k for k, v in r.known.items() if v is None]:
        del r.known[key]                               # shared cells: unknown until solved
        r.hidden[key] = COMPLEMENT
    for g, times in ticks.items():
        times = sorted(times)
        for a, b in zip(times, times[1:]):
            r.at_most(("risk", *g, b, "at_risk"), ("risk", *g, a, "at_risk"))
            for col in ("censored", "events"):
                r.at_most(("risk", *g, a, col), ("risk", *g, b, col))
    for (c, e), values in by_cmp.items():
        if population[c] != "all":
            continue
        for t in ticks.get(("all", e, "all"), ()):
            for col in ("at_risk", "censored", "events"):
                if all(t in ticks.get((c, e, v), ()) for v in values):
                    r.total(("risk", "all", e, "all", t, col), [("risk", c, e, v, t, col)
                                                                for v in values])
    for x in doc["landmarks"]:
        t = float(x["time"])
        if t in ticks.get(("all", x["endpoint"], "all"), ()):
            r.total(("risk", "all", x["endpoint"], "all", t, "at_risk"),
                    [r.cell(("landmark", x["endpoint"], t), x["at_risk"])])


def same_patients(r: Reader, doc: dict, warehouse: Path) -> int:
    """What the analysis plan tells a reader: the same patients counted in several places.
    Table 1's column of a histology is the response table's row of it; a comparison's group
    (per endpoint, when every patient has a time) is the response row of the same code; a
    comparison's groups add up to its population's patients when everyone in it is in a
    group, which is checked here on the warehouse itself. Returns how many were added."""
    ends = [e.name for e in PLAN.endpoints]
    total = next(row for row in doc["attrition"] if row["center"] == "Total")
    timed = [e for e in ends if total[f"no_time_{e}"] == 0]
    title = {g.by: g.title for g in PLAN.response}
    added = 0
    if PLAN.table1.columns in title:
        for x in doc["table1"]:
            if x["section"] == "patients" and x["column"] != "Total":
                r.total(("t1", "patients", "n", x["column"]),
                        [("resp", title[PLAN.table1.columns], x["column"], "n")])
                added += 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for c in PLAN.comparisons:
            where = " AND ".join(f"{w.column} IN ({', '.join(repr(v) for v in w.values)})"
                                 for w in c.population.where) or "TRUE"
            everyone, grouped = con.execute(
                f"SELECT count(*), count(*) FILTER ({c.by} IN "
                f"({', '.join(repr(g) for g in c.groups)})) FROM v_patient WHERE {where}"
            ).fetchone()
            for e in [e for e in c.endpoints if e in timed]:
                if c.by in title and not c.population.where:
                    for g in c.groups:
                        r.total(("n", c.name, e, str(g)), [("resp", title[c.by], str(g), "n")])
                        added += 1
                cond = c.population.where
                if (everyone == grouped and len(cond) == 1 and len(cond[0].values) == 1
                        and cond[0].column in title):
                    r.total(("resp", title[cond[0].column], str(cond[0].values[0]), "n"),
                            [("n", c.name, e, str(g)) for g in c.groups])
                    added += 1
    return added


def test_no_withheld_count_can_be_computed_back_from_the_shareable_outputs(doc, damaged_warehouse):
    reader = read(doc)
    assert same_patients(reader, doc, damaged_warehouse) >= 30   # the plan links them
    assert sum(1 for m in reader.hidden.values() if m == SMALL) > 20   # small cells exist
    recovered = [(key, low, high) for key, low, high in reader.recovered()
                 if (key[0] != "risk" or len(key) > 6)   # shared at-risk cells: the reader's own
                 and not high < 0.5]                     # a zero discloses nobody
    assert recovered == []


def test_no_count_below_the_threshold_is_shown_anywhere(doc, shareable):
    reader = read(doc)
    shown = {k: v for k, v in reader.known.items() if 0 < v < K and not k[-1] == "pct"}
    assert shown == {}
    text = shareable.read_text(encoding="utf-8")
    for table in ("table-1", "table-2", "table-response", "table-subgroups", "table-attrition",
                  "table-survival", "table-quarantine-counts", "table-duplicates",
                  "table-provenance-centers"):
        body = text.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = [html.unescape(re.sub(r"<[^>]+>", "", c))
                     for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            if cells and cells[0] in ("Median", "Range", "Median, months (95% CI)"):
                continue                                # summaries, not counts
            skip = {"table-provenance-centers": {1, 2, 3, 8, 9}, "table-subgroups": {3, 4, 5, 6, 7},
                    "table-survival": {3}, "table-response": {7, 8}}.get(table, set())
            for i, cell in enumerate(cells[1:], start=1):
                if i in skip:
                    continue
                for number in re.findall(r"(?<![\d.<])(\d+)(?![\d.%])", cell.split("(")[0]):
                    assert not 0 < int(number) < K, (table, cells)
    svg = text.split('<svg id="attrition-diagram"', 1)[1].split("</svg>", 1)[0]
    for line in re.findall(r"<text[^>]*>([^<]*)</text>", svg):
        for number in re.findall(r"(?<![\w<])(\d+) (?:rows?|patients?)\b|: (\d+)$", line):
            value = int(next(n for n in number if n))
            assert not 0 < value < K, line
    assert html.escape(SMALL) in text and "Small cells" in text   # the footnote says so


def test_shareable_report_leaves_out_the_row_level_audit_and_the_paper(shareable, doc):
    numbers = shareable.parent / "numbers"
    for name in ("quarantine", "provenance_files", "paper_comparison"):
        assert not (numbers / f"{name}.csv").exists() and name not in doc
    text = shareable.read_text(encoding="utf-8")
    assert 'id="table-quarantine"' not in text and 'id="table-paper"' not in text
    assert doc["meta"]["shareable"]["small_cell_threshold"] == K


def test_shareable_report_keeps_the_headline_counts(doc):
    total = next(row for row in doc["attrition"] if row["center"] == "Total")
    assert total["patients"] == doc["meta"]["patients"] == 79
    assert [x["n"] for x in doc["km_summary"]] == [79, 79]     # patients analysed per endpoint
    assert all(isinstance(total[f"analysed_{e}"], int) for e in ("pfs", "os"))


def test_a_group_below_the_threshold_has_no_curve_median_or_hazard_ratio(demo_warehouse, tmp_path):
    import duckdb
    from harmonise.analysis import attrition, suppress
    from harmonise.analysis.collect import collect
    from harmonise.analysis.figures import prepare_figures
    from harmonise.analysis.results import FigureSet
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        res = collect(con, PLAN)
    jobs, drawn = prepare_figures(res.labels, res.compared, res.curves, tmp_path)
    res.figures = FigureSet(drawn["figures"], drawn["curves"], drawn["at_risk"], drawn["risk_table"])
    shared = suppress.shareable(res, attrition.flow(res), drawn, jobs, 8)
    cmp = shared.res.comparisons
    small = res.comparisons[res.comparisons["n"] < 8]
    assert len(small) > 0                                     # e.g. PD-1 monotherapy, n = 7
    for i in small.index:
        assert cmp.at[i, "n"] == "<8" and cmp.at[i, "median"] == "[c]"
        if not res.comparisons.at[i, "is_reference"]:
            assert cmp.at[i, "hr"] == "[c]"
    keys = set(small["comparison"])
    for (panel, _), key in zip(shared.panels, drawn["figures"]["comparison"]):
        for curve in panel.curves:
            if key in keys and "curve withheld" in curve.label:
                assert curve.x.size == 0 and set(curve.table["At risk"]) <= {"<8", "[c]"}
    assert any("curve withheld: fewer than 8 patients" in c.label
               for p, _ in shared.panels for c in p.curves)


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 390])
def test_shareable_report_fits_a_desktop_and_a_phone(shareable, tmp_path, width):
    from tests.test_report_browser import _probe
    seen = _probe(shareable, tmp_path, width)
    assert seen["count"] == 0, "\n".join(seen["bad"])
    assert seen["scroll"] <= width and seen["flow_text_outside"] == 0
