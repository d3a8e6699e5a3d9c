"""The side by side's rows that compare counts: patients per center and line group,
Table 1, Table 2, best response and response rates; and :func:`make_row`, which makes every row
(ours next to published, the difference, the status; see :mod:`analysis.paper`).
"""
from __future__ import annotations

from harmonise.analysis import present


def _num(x):
    return None if present.is_missing(x) else float(x)


def make_row(id_, section, item, kind, published, ours, *, method="", note="",
         published_text=None, ours_text=None):
    pub, our = _num(published), _num(ours)
    diff = None if pub is None or our is None else our - pub
    if kind in ("count", "range"):
        status = "match" if diff is not None and abs(diff) < 1e-9 else "mismatch"
        fmt = present.count if kind == "count" else present.general
    elif kind == "median":
        status = ("both NR" if pub is None and our is None
                  else "NR in one" if (pub is None) != (our is None) else "")
        fmt = present.months
    else:
        status, fmt = "", present.general
    return {"id": id_, "section": section, "item": item, "kind": kind, "method": method,
            "published": pub, "published_text": published_text or fmt(pub),
            "ours": our, "ours_text": ours_text or fmt(our), "difference": diff,
            "status": status, "note": note}


def table1_rows(published, table1, histology_labels, titles):
    value = table1.set_index(["column", "section", "item"])
    label = table1.drop_duplicates(["section", "item"]).set_index(["section", "item"])["label"]
    columns = [(h, published["table1"][h]) for h in published.get("table1", {})]
    columns.append(("Total", published.get("table1_total", {})))
    rows = []
    for col, data in columns:
        section = "Table 1: " + ("all patients" if col == "Total"
                                 else present.histology_label(col, histology_labels))

        def ours(sec, item):
            key = (col, sec, item)
            return value.loc[key, "value"] if key in value.index else None

        def words(sec, item):
            title = titles.get(sec, sec)
            return f"{title}: {present.item_label(title, label.get((sec, item), item))}"

        for key, entry in data.items():
            if key == "n":
                rows.append(make_row(f"table1.{col}.n", section, "Patients", "count", entry,
                                 ours("patients", "n")))
            elif key == "age":
                printed, median = entry.get("published"), entry.get("median")
                note = ("" if printed == median else
                        f"printed as 'Mean/Median'; nearest attainable median {median:g} "
                        "(ERRATA #4/#5)")
                rows.append(make_row(f"table1.{col}.age.median", section, "Age (years): median",
                                 "summary", printed, ours("age", "median"), note=note))
                for stat in ("min", "max"):
                    rows.append(make_row(f"table1.{col}.age.{stat}", section,
                                     f"Age (years): {stat}", "range", entry.get(stat),
                                     ours("age", stat)))
            elif key == "local_treatment":
                rows.append(make_row(f"table1.{col}.local_treatment", section, "Local treatment",
                                 "count", entry, ours("local_treatment", "any")))
            elif isinstance(entry, dict):
                for item, number in entry.items():
                    item = ">=3" if key == "ecog" and str(item) == "3" else str(item)
                    kind = ("summary" if item == "median"
                            else "range" if item in ("min", "max") else "count")
                    rows.append(make_row(f"table1.{col}.{key}.{item}", section,
                                     present.pretty(words(key, item)), kind, number,
                                     ours(key, item)))
    return rows


def table2_rows(published, table2):
    data = table2.set_index("term")
    section = "Table 2: adverse events (patients by worst grade)"
    rows = []
    for term, cells in published.get("table2", {}).items():
        label = data.loc[term, "label"] if term in data.index else term
        for key, number in cells.items():
            col = "any_grade" if key == "any" else key
            title = "any grade" if key == "any" else f"grade {key[-1]}"
            ours = data.loc[term, col] if term in data.index and col in data.columns else None
            rows.append(make_row(f"table2.{term}.{col}", section, f"{label}: {title}", "count",
                             number, ours))
    ae = published.get("adverse_events", {})
    anyrow = data.loc["(any)"] if "(any)" in data.index else None
    if "patients_with_any" in ae:
        rows.append(make_row("adverse_events.any", section, "Patients with any adverse event",
                         "count", ae["patients_with_any"],
                         None if anyrow is None else anyrow["any_grade"]))
    if "grade5" in ae:
        rows.append(make_row("adverse_events.grade5", section, "Patients with a grade 5 event",
                         "count", ae["grade5"], None if anyrow is None else anyrow["grade5"]))
    return rows


def cohort_rows(published, patients):
    section = "Patients, centers, treatment lines"
    rows = [make_row("patients.n", section, "Patients", "count", published.get("n_patients"),
                 len(patients))]
    per_center = patients["center_id"].value_counts()
    for center, info in published.get("centers", {}).items():
        rows.append(make_row(f"centers.{center}", section, f"Patients at center {center}",
                         "count", info.get("n"), per_center.get(center, 0)))
    subsets = {"total": patients, "ASPS": patients[patients["is_asps"]],
               "non_ASPS": patients[~patients["is_asps"]]}
    for key, group in (("le2_lines", "<=2"), ("later_lines", "later")):
        for subset, number in published.get("line_groups", {}).get(key, {}).items():
            part = subsets.get(subset)
            words = "\u2264 2 lines" if group == "<=2" else "later lines (\u2265 3rd line)"
            rows.append(make_row(f"lines.{key.split('_')[0]}.{subset}", section,
                             f"Treated in {words}: {subset.replace('_', '-')}", "count",
                             number, None if part is None
                             else int((part["line_group"] == group).sum())))
    mono = published.get("regimens", {}).get("monotherapy", {})
    for subset, number in mono.items():
        part = subsets.get(subset)
        rows.append(make_row(f"monotherapy.{subset}", section,
                         f"PD-1 inhibitor monotherapy: {subset.replace('_', '-')}", "count",
                         number, None if part is None
                         else int((part["regimen_class"] == "I").sum())))
    for reason, number in published.get("discontinuation", {}).items():
        rows.append(make_row(f"discontinuation.{reason}", section,
                         f"Treatment status: {reason.replace('_', ' ')}", "count", number,
                         int((patients["discontinuation_reason"] == reason).sum())))
    return rows


def response_rows(published, response):
    by = response.set_index("group")
    names = {"overall": ("all", "all patients"), "ASPS": ("True", "ASPS"),
             "non_ASPS": ("False", "non-ASPS")}
    rows = []
    for subset, counts in published.get("best_response", {}).items():
        if subset not in names:
            continue
        group, words = names[subset]
        if isinstance(counts, dict):
            for code, number in counts.items():
                ours = by.loc[group, code] if group in by.index else None
                rows.append(make_row(f"best_response.{subset}.{code}", "Best overall response",
                                 f"{code}, {words}", "count", number, ours))
    for rate in ("orr", "dcr"):
        for subset, pct in published.get("best_response", {}).get(f"{rate}_percent", {}).items():
            group, words = names[subset]
            ok = group in by.index
            ours = 100 * by.loc[group, rate] if ok else None
            text = (present.percent_ci(by.loc[group, rate], by.loc[group, f"{rate}_lower"],
                                       by.loc[group, f"{rate}_upper"]) if ok else None)
            rows.append(make_row(f"{rate}.{subset}", "Response rates", f"{rate.upper()}, {words}",
                             "rate", pct, ours, method="Clopper-Pearson 95% CI",
                             published_text=f"{pct:.1f}%", ours_text=text))
    return rows
