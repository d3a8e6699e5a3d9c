"""Build a :class:`analysis.plan.Plan` from the parsed YAML of ``plan.yaml``, checking every
key on the way: each problem is a :class:`analysis.plan.PlanError` with the file, the
dotted key and a hint. YAML is data: nothing here evaluates an expression.
"""
from __future__ import annotations

from pathlib import Path

from harmonise.analysis.plan import (
    BASE_COLUMNS, DATE_COLUMNS, Comparison, Condition, Derived, Endpoint, Figure, Level,
    Panel, Plan, PlanError, Population, Published, ResponseGrouping, Table1, Table1Row,
    Table2)
from harmonise.analysis.plan_reader import At as _At
from harmonise.analysis.plan_reader import code_of, conditions as _conditions, name as _name
from harmonise.schemas.units import DAYS_PER_MONTH, DAYS_PER_YEAR

TOP_KEYS = ("title", "lead", "time", "endpoints", "derived", "populations", "comparisons",
            "figures", "landmarks", "table1", "table2", "response", "followup", "published")
REQUIRED = ("endpoints", "comparisons")


def _derived(at: _At) -> tuple[Derived, ...]:
    out, known = [], BASE_COLUMNS
    for name, spec in at.items():
        _name(spec, name)
        if name in known:
            spec.fail(f"{name!r} is already a column of v_patient", "choose another name")
        body = spec.mapping(allowed=("label", "levels", "codes_in_legend"), required=("levels",))
        levels, otherwise = [], 0
        for code, lv in spec.child("levels").items():
            lvd = lv.mapping(allowed=("label", "short", "when", "otherwise"))
            if ("when" in lvd) == bool(lvd.get("otherwise")):
                lv.fail("give either `when` (the rule) or `otherwise: true`",
                        "one level may take every patient no other rule took")
            otherwise += bool(lvd.get("otherwise"))
            when = _conditions(lv.child("when"), known) if "when" in lvd else ()
            label = lv.text("label", str(code))
            levels.append(Level(code_of(code), label, lv.text("short", label), when,
                                bool(lvd.get("otherwise"))))
        if otherwise > 1:
            spec.fail("more than one level says `otherwise: true`", "keep one")
        kinds = {isinstance(lv.code, bool) for lv in levels}
        if len(kinds) > 1:
            spec.fail("codes mix true/false and text", "quote the codes: \"true\"")
        out.append(Derived(name, spec.text("label", name), tuple(levels),
                           bool(body.get("codes_in_legend", False))))
        known = known + (name,)
    return tuple(out)


def _endpoints(at: _At) -> tuple[Endpoint, ...]:
    out = []
    for name, spec in at.items():
        _name(spec, name)
        body = spec.mapping(allowed=("label", "short", "events", "censor"),
                            required=("events", "censor"))
        events = spec.child("events").list() if isinstance(body["events"], list) else [body["events"]]
        for column in [*events, body["censor"]]:
            if column not in DATE_COLUMNS:
                spec.fail(f"{column!r} is not a date of v_patient",
                          f"use one of {', '.join(DATE_COLUMNS)}")
        out.append(Endpoint(name, spec.text("label", name), spec.text("short", name.upper()),
                            tuple(events), body["censor"]))
    return tuple(out)


def _populations(at: _At | None, known) -> dict[str, Population]:
    out = {"all": Population("all", "all patients")}
    for name, spec in (at.items() if at else []):
        body = spec.mapping(allowed=("label", "where"))
        where = _conditions(spec.child("where"), known) if "where" in body else ()
        out[_name(spec, name)] = Population(name, spec.text("label", name), where)
    return out


def _values_of(plan_derived: dict, column: str, at: _At, values: list) -> tuple:
    codes = tuple(code_of(v) for v in values)
    derived = plan_derived.get(column)
    if derived is not None:
        allowed = [lv.code for lv in derived.levels]
        for code in codes:
            if code not in allowed:
                at.fail(f"{code!r} is not a code of {column!r}",
                        f"use one of {', '.join(map(str, allowed))}")
    return codes


def _comparisons(at: _At, known, derived, populations, endpoints) -> tuple[Comparison, ...]:
    out = []
    for name, spec in at.items():
        body = spec.mapping(allowed=("label", "by", "groups", "population", "endpoints"),
                            required=("by", "groups"))
        if body["by"] not in known:
            spec.fail(f"unknown column {body['by']!r} under `by`",
                      f"use a column of v_patient or a derived grouping ({', '.join(known)})")
        groups = spec.child("groups").list()
        if len(groups) < 2:
            spec.fail("a comparison needs at least two groups", "list the codes to compare")
        pop = body.get("population", "all")
        if pop not in populations:
            spec.fail(f"unknown population {pop!r}",
                      f"declare it under `populations` or use one of {', '.join(populations)}")
        eps = tuple(body.get("endpoints") or endpoints)
        for ep in eps:
            if ep not in endpoints:
                spec.fail(f"unknown endpoint {ep!r}", f"use one of {', '.join(endpoints)}")
        out.append(Comparison(_name(spec, name), spec.text("label", name), body["by"],
                              _values_of(derived, body["by"], spec.child("groups"), groups),
                              populations[pop], eps))
    return tuple(out)


def _figures(at: _At, comparisons) -> tuple[Figure, ...]:
    out = []
    for i, item in enumerate(at.list(), start=1):
        fig = _At(at.path, f"{at.key}[{i - 1}]", item)
        fig.mapping(allowed=("title", "panels"), required=("panels",))
        panels = []
        for j, panel in enumerate(fig.child("panels").list()):
            p = _At(at.path, f"{fig.key}.panels[{j}]", panel)
            name, slug = (panel, panel) if isinstance(panel, str) else (
                p.mapping(allowed=("comparison", "file"), required=("comparison",))["comparison"],
                panel.get("file", panel.get("comparison")))
            if name != "all" and name not in comparisons:
                p.fail(f"unknown comparison {name!r}",
                       f"use `all` or one of {', '.join(comparisons)}")
            panels.append(Panel(None if name == "all" else name, _name(p, slug)))
        out.append(Figure(i, fig.text("title", f"Figure {i}"), tuple(panels)))
    return tuple(out)


def _landmarks(at: _At | None, endpoints) -> dict[str, tuple[float, ...]]:
    out = {}
    for ep, times in (at.items() if at else []):
        if ep not in endpoints:
            times.fail(f"unknown endpoint {ep!r}", f"use one of {', '.join(endpoints)}")
        values = times.list()
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t >= 0
                   for t in values):
            times.fail("landmark times must be numbers >= 0", "in the plan's time unit")
        out[ep] = tuple(float(t) for t in values)
    return out


def _table1(at: _At | None, known) -> Table1:
    if at is None:
        return Table1("histology", ())
    body = at.mapping(allowed=("columns", "rows"))
    columns = body.get("columns", "histology")
    if columns not in known:
        at.fail(f"unknown column {columns!r} under `columns`", "use a column of v_patient")
    rows, seen = [], set()
    for i, item in enumerate(at.child("rows").list() if "rows" in body else []):
        row = _At(at.path, f"{at.key}.rows[{i}]", item)
        spec = row.mapping(allowed=("section", "title", "summary", "count", "flags"),
                           required=("section",))
        section = _name(row, spec["section"])
        if section in seen or section == "patients":
            row.fail(f"section {section!r} appears twice", "give each section its own name")
        seen.add(section)
        for key in ("summary", "count"):
            if key in spec and spec[key] not in known:
                row.fail(f"unknown column {spec[key]!r} under `{key}`",
                         "use a column of v_patient or a derived grouping")
        flags = []
        for item_name, flag in (row.child("flags").items() if "flags" in spec else []):
            f = flag.mapping(allowed=("column", "label"), required=("column",))
            if f["column"] not in known:
                flag.fail(f"unknown column {f['column']!r}", "use a true/false column")
            flags.append((str(item_name), f["column"], flag.text("label", str(item_name))))
        if not (spec.get("summary") or spec.get("count") or flags):
            row.fail("a row needs `summary`, `count` or `flags`", "see docs/analysis-plan.md")
        rows.append(Table1Row(section, row.text("title", section), spec.get("summary"),
                              spec.get("count"), tuple(flags)))
    return Table1(columns, tuple(rows))


def build(path: Path, data) -> Plan:
    """The validated plan of the YAML document ``data`` read from ``path``."""
    root = _At(path, "", data)
    root.mapping(allowed=TOP_KEYS, required=REQUIRED)
    time = root.child("time").mapping(allowed=("unit", "days_per_month", "axis_label")) if "time" in data else {}
    if time.get("unit", "months") != "months":
        root.fail("only `months` is supported", "write unit: months", key="time.unit")
    dpm = time.get("days_per_month", DAYS_PER_MONTH)
    if not isinstance(dpm, (int, float)) or dpm <= 0:
        root.fail("days_per_month must be a positive number", f"{DAYS_PER_YEAR} / 12 = {DAYS_PER_MONTH}",
                  key="time.days_per_month")
    endpoints = _endpoints(root.child("endpoints"))
    ep_names = tuple(e.name for e in endpoints)
    derived = _derived(root.child("derived")) if "derived" in data else ()
    by_name = {d.name: d for d in derived}
    known = BASE_COLUMNS + tuple(by_name)
    populations = _populations(root.child("populations") if "populations" in data else None,
                               known)
    comparisons = _comparisons(root.child("comparisons"), known, by_name, populations, ep_names)
    cmp_names = [c.name for c in comparisons]
    figures = _figures(root.child("figures"), cmp_names) if "figures" in data else ()
    response = []
    for i, item in enumerate(root.child("response").list() if "response" in data else []):
        r = _At(path, f"response[{i}]", item)
        spec = r.mapping(allowed=("by", "title"), required=("by",))
        if spec["by"] not in known:
            r.fail(f"unknown column {spec['by']!r}", "use a column of v_patient")
        response.append(ResponseGrouping(spec["by"], r.text("title", spec["by"])))
    table2 = root.child("table2").mapping(allowed=("terms", "any_label")) if "table2" in data else {}
    published = None
    if "published" in data:
        pub = root.child("published").mapping(allowed=("numbers", "errata"), required=("numbers",))
        files = {k: path.parent / str(pub[k]) for k in ("numbers", "errata") if k in pub}
        for key, file in files.items():
            if not file.is_file():
                root.fail(f"no file {file}", "the path is relative to plan.yaml",
                          key=f"published.{key}")
        published = Published(files["numbers"], files.get("errata", files["numbers"]))
    return Plan(
        path=path, title=root.text("title", "Pooled analysis"),
        lead=root.text("lead", "The study's analyses on the pooled, harmonised data."),
        days_per_month=float(dpm),
        time_axis=str(time.get("axis_label") or "Months since start of therapy"), endpoints=endpoints, derived=derived,
        populations=tuple(populations.values()), comparisons=comparisons, figures=figures,
        landmarks=_landmarks(root.child("landmarks") if "landmarks" in data else None,
                             ep_names),
        table1=_table1(root.child("table1") if "table1" in data else None, known),
        table2=Table2(tuple(map(str, table2.get("terms") or ())),
                      str(table2.get("any_label", "Any adverse event"))),
        response=tuple(response), followup=_followup(root, data, ep_names),
        published=published)


def _followup(root: _At, data: dict, endpoints) -> str:
    """The endpoint whose reverse Kaplan-Meier gives the median follow-up (default ``os``)."""
    name = data.get("followup", "os" if "os" in endpoints else endpoints[0])
    if name not in endpoints:
        root.fail(f"unknown endpoint {name!r}", f"use one of {', '.join(endpoints)}",
                  key="followup")
    return name
