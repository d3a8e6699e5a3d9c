"""The report's methods and attrition sections, written from what was run.

* **Statistical methods**: the CI transform, the median rule, tie handling, the tests and
  models, how missing times were handled (with their counts) and the software versions
  (R's too where it is installed: the test suite checks every statistic against it).
* **Patient flow** (CONSORT/STROBE style): per center, the rows in the export files, the
  rows quarantined (by check), the patients loaded and the patients analysed per endpoint,
  from the pipeline's own counts (``load_log``, ``quarantine``, ``v_patient``).

Stable element ids: ``methods``, ``table-software``, ``attrition``, ``table-attrition``.
"""
from __future__ import annotations

import functools
import platform
import shutil
import subprocess
from importlib import metadata

from harmonise.analysis import km, present
from harmonise.analysis.attrition import Flow, diagram
from harmonise.analysis.page import Attrition, Paragraph, Row, Section, Table, Tables
from harmonise.analysis.results import Results

PACKAGES = {"harmonise": "harmonise", "numpy": "NumPy", "pandas": "pandas", "scipy": "SciPy",
            "duckdb": "DuckDB", "matplotlib": "Matplotlib", "Jinja2": "Jinja2",
            "lifelines": "lifelines", "statsmodels": "statsmodels"}
"""Distribution name -> the name its project writes."""


@functools.lru_cache(maxsize=1)
def r_version() -> str:
    """``R version 4.2.2 (2022-10-31); survival 3.5.3`` when R is installed, else ''."""
    exe = shutil.which("Rscript")
    if not exe:
        return ""
    try:
        done = subprocess.run([exe, "--vanilla", "-e", "cat(R.version.string, '; survival ', "
                               "as.character(packageVersion('survival')), sep='')"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


_R_ASKED: list = []                        # the future of an early r_version() call


def ask_r_version_early() -> None:
    """Start :func:`r_version` in a background thread (R takes about half a second to
    answer); :func:`software` then reads the answer instead of waiting for R itself."""
    if not _R_ASKED:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(1, thread_name_prefix="r-version")
        _R_ASKED.append(pool.submit(r_version))
        pool.shutdown(wait=False)


def software() -> list[tuple[str, str]]:
    """(name, version) of Python and every package the report's numbers come from."""
    rows = [("Python", platform.python_version())]
    for name, shown in PACKAGES.items():
        try:
            rows.append((shown, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    r = _R_ASKED[0].result() if _R_ASKED else r_version()
    if r:
        rows.append(("R (oracle of the test suite)", r))
    return rows


def methods(res: Results, flow: Flow) -> Section:
    """What was computed, and how, in words; the software versions as a table. The missing
    times are the patient flow's (``flow``), as shown there."""
    rule = km.MEDIAN_RULES[res.median_rule]
    other = next(r for r in km.MEDIAN_RULES if r != res.median_rule)
    missing = "; ".join(f"{present.count(n)} for {name.lower()}"
                        for name, n in zip(flow.endpoints, flow.total.no_time))
    paragraphs = (
        Paragraph("Survival curves are Kaplan-Meier estimates with Greenwood's variance; "
                  f"pointwise 95% confidence intervals use the {present.TRANSFORM_TEXT[res.transform]}. "
                  f"Median survival follows {rule} (median_rule \u201c{res.median_rule}\u201d; "
                  f"\u201c{other}\u201d is available); its 95% CI applies the same rule to the "
                  "band's limits. Median follow-up: reverse Kaplan-Meier.",
                  strong="Kaplan-Meier.", note=False),
        Paragraph(f"Patients without a follow-up time are left out of the survival analyses "
                  f"and counted: {missing} (as R's na.action does).", strong="Missing times.",
                  note=False),
        Paragraph("Groups are compared by the log-rank test (hypergeometric variance, tied "
                  "times as R's survdiff, k \u2212 1 degrees of freedom) and by the log-rank "
                  "test stratified by center. Hazard ratios come from a Cox proportional-"
                  "hazards model stratified by center, Efron's method for ties, with Wald 95% "
                  "CI and Wald p, maximised to a step below 1e-10. A group without events has "
                  "no finite hazard ratio and is flagged; the other groups keep theirs.",
                  strong="Tests and models.", note=False),
        Paragraph("Objective response and disease control rates use every patient of the "
                  "group as denominator (not evaluable included), with exact Clopper-Pearson "
                  "95% CIs.", strong="Response.", note=False),
        Paragraph("Each statistic of this report is checked by the project's test suite "
                  "against R's survival package (survfit, survdiff, coxph, binom.test), "
                  "lifelines and statsmodels, on the NCCTG lung data, edge cases and the demo "
                  "study.", strong="Validation.", note=False),
    )
    versions = Table.build("table-software", ["Software", "Version"],
                           [[n, v] for n, v in software()], caption="Software versions")
    return Section("methods", "Statistical methods", "Methods", "tables",
                   Tables(paragraphs + (versions,)))


def attrition(f: Flow) -> Section:
    """Patient flow per center: export rows -> quarantined (by check) -> loaded -> analysed,
    as a diagram (also ``figures/attrition.svg``) and as a table, from one :class:`Flow`."""
    rows = []
    for c in (*f.centers, f.total):
        if c is f.total:
            rows.append(Row.section("All centers"))
        rows.append([c.center, present.count(c.rows_read), present.count(c.rows_quarantined),
                     present.count(c.patients), *(present.count(n) for n in c.analysed)])
        for r in c.reasons:
            rows.append([f"\u2003quarantined: {r.table}, {r.check}", "",
                         present.count(r.records), "", *("" for _ in c.analysed)])
    head = ["Center", "Rows in the export files", "Rows quarantined", "Patients loaded",
            *(f"Analysed: {name.lower()}" for name in f.endpoints)]
    table = Table.build("table-attrition", head, rows, numeric=range(1, len(head)),
                        caption="Patient flow: from the centers' exports to the analyses")
    note = Paragraph("Counts from the pipeline's own records: rows read and quarantined from "
                     "the load log of each center's last load, the reasons (quarantine records "
                     "by table and check) from the quarantine table, patients from the analysis "
                     "view. A patient is analysed for an endpoint when a follow-up time is "
                     "known. The diagram is also figures/attrition.svg.")
    return Section("attrition", "Patient flow (attrition)", "Patient flow", "attrition",
                   Attrition(diagram(f), "Patient flow: rows of each center's export files, "
                             "rows quarantined (dashed, by table and check), patients loaded, "
                             "pooled and analysed per endpoint.", Tables((table, note))))
