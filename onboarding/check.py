"""What a dry run of one center found, grouped for the data manager who fixes it (``harmonise check``).

``summarise`` takes the pipeline's result for one center (the clean canonical rows and
the quarantine records, nothing written) and groups it: values no vocabulary knows
(with counts and a suggestion), rows that would be quarantined by reason (with examples
located as the data manager finds them in the export), and a preview of the first
patients as they would be stored. Values of identifier columns are never kept.
Rendering is at the edge (``flows.onboarding``).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from harmonise.mappings.model import ROLE_TABLES
from harmonise.mappings.pseudonym import DEMO_KEY, PseudonymKeyError, load_key
from harmonise.mappings.vocabulary import canonical_vocabulary
from harmonise.onboarding.id_values import looks_identifying
from harmonise.onboarding.suggest import suggest_code
from harmonise.schemas.codes import attribute
from harmonise.schemas.quarantine import FIX_IN, FixIn, Rule, records_of
from harmonise.schemas.reasons import reason

#: How many example rows a group of quarantined rows shows.
EXAMPLES = 3
#: Patients shown in the preview of the canonical rows.
PREVIEW_PATIENTS = 5
#: Characters of a pseudonym shown in the preview.
KEY_SHOWN = 8
#: The canonical columns of the preview (one course per patient: the first).
PREVIEW_COLUMNS = ["patient_key", "sex", "age_years", "histology", "primary_site", "lung_metastasis",
                   "other_metastasis", "ecog", "prior_lines", "line_of_therapy", "start_date",
                   "immunotherapy_agent", "antiangiogenic_agents", "cytotoxic_agents", "local_treatment",
                   "end_date", "discontinuation_reason", "best_response", "progression_date",
                   "death_date", "last_followup_date"]


# -- check: the plain function ---------------------------------------------------------------
@dataclass
class Example:
    """One quarantined cell, located as a data manager finds it in the export."""

    file: str
    row: int | None
    column: str | None
    value: str | None          # never an identifier's value


@dataclass
class ProblemGroup:
    """Rows that would be quarantined for the same reason (check) in the same column."""

    check: str
    column: str | None
    rows: int
    reason: str
    examples: list[Example] = field(default_factory=list)
    #: where the fix of these rows belongs (the rules' own places, most likely first)
    fix_in: tuple[FixIn, ...] = ()


@dataclass
class UnknownValue:
    """A value no vocabulary knows, and how many rows have it."""

    file: str
    column: str
    vocabulary: str
    value: str
    rows: int
    suggestion: str | None = None


@dataclass
class CheckReport:
    """What ``harmonise check`` found for one center (a dry run: nothing was written)."""

    center: str
    mapping_file: Path
    inbox: Path
    structural: list[str] = field(default_factory=list)
    unknown_values: list[UnknownValue] = field(default_factory=list)
    problems: list[ProblemGroup] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_read: int = 0
    rows_quarantined: int = 0
    patients: int = 0
    adverse_events: int = 0
    #: rows of a ``role: assessments`` file that would load (summarised into outcome columns)
    assessments: int = 0
    key_note: str | None = None

    @property
    def ok(self) -> bool:
        """The center would load cleanly: no structural problem and nothing quarantined."""
        return not self.structural and self.rows_quarantined == 0

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def check_key(demo_key: bool, key_env: str | None = None, key_file: Path | None = None
              ) -> tuple[bytes, str | None]:
    """The key for a dry run, and a note when it is not the real one.

    A check stores nothing, so without a configured key it uses a throwaway one (the
    preview's patient keys then differ from the ones ``ingest`` will store).
    """
    if demo_key:
        return DEMO_KEY.encode(), "demo key (synthetic data only)"
    try:
        return load_key(demo=False, key_env=key_env, key_file=key_file), None
    except PseudonymKeyError as err:
        return secrets.token_hex(32).encode(), (
            f"{err} For this dry run the preview's patient keys were made with a throwaway key; "
            "`harmonise ingest` needs the real one.")


def summarise(report: CheckReport, mapping, clean: dict[str, pd.DataFrame], quarantine: pd.DataFrame,
              rows_read: int) -> CheckReport:
    """Fill ``report`` from one center's mapped and validated rows (a dry run's result)."""
    hidden = {c.source for f in mapping.files for c in f.columns.values()
              if c.action in ("pseudonymise", "identifier")}
    sheets = _sheet_labels(mapping)
    quarantine = quarantine.copy()
    if len(quarantine):
        quarantine["file"] = [sheets.get((f, t), f) for f, t in zip(quarantine["source_file"],
                                                                     quarantine["table_name"])]
        quarantine["shown"] = [None if (c in hidden or v is None or (isinstance(v, float) and pd.isna(v))
                                        or looks_identifying(v))
                               else str(v) for c, v in zip(quarantine["source_column"],
                                                           quarantine["failed_value"])]
    report.rows_read = int(rows_read)
    report.rows_quarantined = _distinct_rows(quarantine)
    report.unknown_values = _unknown_values(quarantine)
    report.problems = _problem_groups(quarantine)
    report.preview = _preview(clean)
    report.patients = len(clean.get("patient", []))
    report.adverse_events = len(clean.get("adverse_event", []))
    report.assessments = len(clean.get("assessment", []))
    return report


def _sheet_labels(mapping) -> dict[tuple[str, str], str]:
    """``{(file name, canonical table): 'file (sheet X)'}`` for workbooks read more than once."""
    names = [f.name for f in mapping.files]
    labels = {}
    for spec in mapping.files:
        if names.count(spec.name) < 2:
            continue
        tables = sorted(ROLE_TABLES[spec.role])
        if spec.wide_adverse_events:
            tables.append("adverse_event")
        for table in tables:
            labels.setdefault((spec.name, table), f"{spec.name} [{spec.sheet}]")
    return labels


def _distinct_rows(quarantine: pd.DataFrame) -> int:
    if quarantine.empty:
        return 0
    rows = quarantine.dropna(subset=["source_row"])
    return int(rows.drop_duplicates(["file", "source_row"]).shape[0])


def _unknown_values(quarantine: pd.DataFrame) -> list[UnknownValue]:
    if quarantine.empty:
        return []
    unknown = quarantine[(quarantine["rule"] == Rule.UNKNOWN_CODE) & quarantine["shown"].notna()]
    unknown = unknown.assign(vocabulary=[i["vocabulary"] for i in unknown["inputs"]],
                             agent_class=[i.get("class") or "" for i in unknown["inputs"]])
    # a cell with several unknown parts ("Foo + Cabozantinib"): one line per part
    parts = [[q for q in i.get("parts") or () if not looks_identifying(q)] for i in unknown["inputs"]]
    unknown = unknown.assign(shown=[p if p else [s] for p, s in zip(parts, unknown["shown"])]).explode("shown")
    out = []
    grouped = unknown.groupby(["file", "source_column", "vocabulary", "agent_class", "shown"], dropna=False)
    for (file, column, vocabulary, cls, value), rows in grouped:
        hint = suggest_code(value, vocabulary, cls or None) if vocabulary != "values" else None
        out.append(UnknownValue(file=str(file), column=str(column), vocabulary=vocabulary,
                                value=str(value), rows=int(rows["source_row"].nunique()),
                                suggestion=_looks_like(hint, vocabulary)))
    return sorted(out, key=lambda u: (u.file, u.column, -u.rows, u.value))


def _looks_like(hint: tuple[str, str] | None, vocabulary: str) -> str | None:
    """``sintilimab? (like 'sintillimab'; class immunotherapy)``: the class said, never implied."""
    if hint is None:
        return None
    cls = attribute(canonical_vocabulary(vocabulary), hint[0], "class")
    return f"{hint[0]}? (like '{hint[1]}'" + (f"; class {cls})" if cls else ")")


def _problem_groups(quarantine: pd.DataFrame) -> list[ProblemGroup]:
    if quarantine.empty:
        return []
    q = quarantine.assign(where=quarantine["source_column"].fillna(quarantine["column_name"]))
    groups = []
    for (check, column), rows in q.groupby(["check_name", "where"], dropna=False, sort=False):
        rows = rows.sort_values(["file", "source_row"], na_position="last")
        distinct = rows.drop_duplicates(["file", "source_row"])
        examples = [Example(file=str(r.file), row=None if pd.isna(r.source_row) else int(r.source_row),
                            column=None if pd.isna(r.where) else str(r.where), value=r.shown)
                    for r in distinct.head(EXAMPLES).itertuples()]
        groups.append(ProblemGroup(check=str(check), column=None if pd.isna(column) else str(column),
                                   rows=len(distinct), reason=_group_reason(rows),
                                   examples=examples, fix_in=_fix_in(rows)))
    return sorted(groups, key=lambda g: (g.check == "held_with_patient", -g.rows, g.check))


def _fix_in(rows: pd.DataFrame) -> tuple[FixIn, ...]:
    places = [p for r in rows["rule"].dropna().unique() for p in FIX_IN.get(Rule(r), ())]
    return tuple(dict.fromkeys(places))


def _group_reason(rows: pd.DataFrame) -> str:
    """The reason of a group in general words (a record's reason names its own value and row)."""
    first = records_of(rows.head(1))[0]
    if len(rows["failed_value"].dropna().unique()) > 1:
        first = replace(first, failed_value=None)
    return reason(first, general=True)


def _preview(clean: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The first patients as they would be stored: patient, first course and outcome side by side."""
    patient = clean.get("patient")
    if patient is None or patient.empty:
        return pd.DataFrame(columns=PREVIEW_COLUMNS)
    first = patient.sort_values("_source_row").head(PREVIEW_PATIENTS)
    treatment = clean["treatment"].sort_values("course_no").drop_duplicates("patient_key")
    merged = (first.merge(treatment, on="patient_key", how="left", suffixes=("", "_t"))
              .merge(clean["outcome"], on="patient_key", how="left", suffixes=("", "_o")))
    out = merged[[c for c in PREVIEW_COLUMNS if c in merged.columns]].copy()
    out["patient_key"] = out["patient_key"].str[:KEY_SHOWN] + "…"
    return out.reset_index(drop=True)

