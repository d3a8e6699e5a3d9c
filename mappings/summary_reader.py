"""Checking ``summaries:`` of a ``role: assessments`` file (the model: ``mappings.summary_spec``)."""
from __future__ import annotations

from harmonise.mappings.columns import default_type
from harmonise.mappings.summary_spec import (READS, SUMMARY_KEYS, TARGET_TYPES, Combine, Summary,
                                             SummarySpec)
from harmonise.schemas.canonical import mapped_columns


def read_summaries(reader, spec, where: tuple, response_codes: set[str],
                   date_targets: set[str], code_targets: set[str], name: str) -> tuple[SummarySpec, ...]:
    """Check a file entry's ``summaries:`` with ``reader``'s helpers (fail, line, choose, check_keys).

    ``date_targets`` / ``code_targets``: the outcome columns a date / a response may fill.
    """
    here = (*where, "summaries")
    if not isinstance(spec, dict) or not spec:
        reader.fail("`summaries:` must map outcome columns to a summary, e.g. "
                    "`outcome.best_response: {summary: best_response, confirmation: none}`",
                    line=reader.line(*here))
    out = []
    for target, entry in spec.items():
        at = (*here, target)
        if not isinstance(entry, dict) or "summary" not in entry:
            reader.fail(f"summary of {target} needs `summary:` (one of "
                        f"{', '.join(s.value for s in Summary)})", line=reader.line(*at),
                        hint="E.g. `{summary: first_date_of, code: PD}`.")
        reader.check_keys(entry, SUMMARY_KEYS, at, f"the summary of {target}")
        kind = Summary(reader.choose(entry["summary"], {s.value for s in Summary}, at, "summary"))
        allowed = code_targets if TARGET_TYPES[kind] == "code" else date_targets
        if str(target) not in allowed:
            reader.fail(f"`summary: {kind.value}` cannot fill '{target}'", line=reader.line(*at),
                        hint=f"It fills {' or '.join(sorted(allowed))}.")
        code = confirmation = None
        if kind is Summary.FIRST_DATE_OF:
            if "code" not in entry:
                reader.fail(f"`summary: first_date_of` for {target} needs `code:` (e.g. `code: PD`)",
                            line=reader.line(*at))
            code = str(reader.choose(str(entry["code"]), response_codes, at, "code"))
        elif "code" in entry:
            reader.fail("`code:` is for `summary: first_date_of` only", line=reader.line(*at, "code"))
        if kind is Summary.BEST_RESPONSE:
            confirmation = _confirmation(reader, entry, at, target)
        elif "confirmation" in entry:
            reader.fail("`confirmation:` is for `summary: best_response` only",
                        line=reader.line(*at, "confirmation"))
        combine = entry.get("combine")
        if combine is not None:
            combine = Combine(reader.choose(combine, {c.value for c in Combine}, at, "combine"))
            if combine is Combine.LATEST and TARGET_TYPES[kind] != "date":
                reader.fail("`combine: latest` is for dates only", line=reader.line(*at, "combine"),
                            hint="Use `combine: agree` or `combine: fill_blanks`.")
        table, column = str(target).split(".")
        out.append(SummarySpec(table=table, column=column, summary=kind, code=code,
                               confirmation_days=confirmation, combine=combine, file=name,
                               line=reader.line(*at)))
    return tuple(out)


def _confirmation(reader, entry: dict, at: tuple, target) -> int | None:
    """``confirmation: none`` or a whole number of days (RECIST 1.1 uses 28): never implied."""
    if "confirmation" not in entry:
        reader.fail(f"the best response summary of {target} must state its confirmation rule",
                    line=reader.line(*at),
                    hint="Write `confirmation: none` (each response counts as recorded) or "
                         "`confirmation: 28` (a CR or PR counts only if an assessment at least 28 "
                         "days later shows a response at least as good; else it counts as SD).")
    value = entry["confirmation"]
    if value == "none":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        reader.fail(f"`confirmation: {value}` must be `none` or a whole number of days (e.g. 28)",
                    line=reader.line(*at, "confirmation"))
    return value


def file_summaries(reader, role: str, spec: dict, where: tuple, mapped: set,
                   name: str) -> tuple[SummarySpec, ...]:
    """A ``role: assessments`` file's ``summaries:`` (``mappings.summary_spec``)."""
    if "summaries" not in spec:
        return ()
    if role != "assessments":
        reader.fail("`summaries:` belongs to a file with `role: assessments`",
                  line=reader.line(*where, "summaries"),
                  hint="A patients file gives outcome columns directly (`to: outcome.<column>`).")
    dates = {f"outcome.{c}" for c in mapped_columns("outcome") if default_type("outcome", c) == "date"}
    found = read_summaries(reader, spec["summaries"], where, set(reader.book.codes("best_response")),
                           date_targets=dates, code_targets={"outcome.best_response"}, name=name)
    for summary in found:
        for column in READS[summary.summary]:
            if ("assessment", column) not in mapped:
                reader.fail(f"the summary of {summary.target} reads assessment.{column}, which "
                          "no column of this file fills", line=summary.line,
                          hint=f"Map the export's column for assessment.{column} in this file.")
    return found

def summarised_once(reader, specs) -> None:
    """An outcome column is summarised by one file, and not also given by the patients file
    unless the summary says how the two combine (``combine:``)."""
    given: dict[tuple[str, str], tuple[str, int | None]] = {}
    for i, f in enumerate(specs):
        if f.role != "patients":
            continue
        for col in f.columns.values():
            if col.action == "map":
                given[(col.table, col.field)] = (f"column '{col.source}' of {f.name}",
                                                 reader.line("files", i, "columns", col.source))
        for target in (*f.constants, *f.derived, *f.not_recorded):
            given[target] = (f"{target[0]}.{target[1]} of {f.name}", reader.line("files", i))
    summarised: dict[tuple[str, str], SummarySpec] = {}
    for f in specs:
        for summary in f.summaries:
            key = (summary.table, summary.column)
            if key in summarised:
                other = summarised[key]
                reader.fail(f"{summary.target} is summarised twice: from {other.file} (line "
                          f"{other.line}) and from {summary.file} (line {summary.line})",
                          line=summary.line, hint="Keep one of the two summaries.")
            summarised[key] = summary
            if key not in given:
                continue
            what, line = given[key]
            if any(key in p.not_recorded for p in specs):
                reader.fail(f"{summary.target} is `not_recorded` in the patients file but summarised "
                          f"from {summary.file} (line {summary.line})", line=summary.line,
                          hint="Remove it from `not_recorded:`: the assessments record it.")
            if summary.combine is None:
                reader.fail(f"{summary.target} is filled twice: by {what} (line {line}) and by the "
                          f"summary of {summary.file} (line {summary.line})", line=summary.line,
                          hint="Drop one of the two, or say how they combine in the summary: "
                               "`combine: agree` (both may be given and must be equal), "
                               "`combine: fill_blanks` (the patients file wins, the summary fills "
                               "its empty cells)" + (" or `combine: latest` (the later date)"
                                                     if summary.summary != "best_response" else "")
                               + ".")
