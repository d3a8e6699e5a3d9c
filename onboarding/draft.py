"""Draft a new center's mapping file from its exports: everything that can be guessed, and TODOs.

``build_draft(center, exports)`` profiles each export (``onboarding.profile``), decides
each file's entry (``onboarding.inference``) and writes the YAML (``onboarding.writing``)
in the mapping language of docs/mapping-language.md. The draft always loads with
``mappings.spec.load_mapping`` (checked before it is returned), so ``harmonise check``
can run on it at once and show what is left to do.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from harmonise.mappings.errors import MappingError
from harmonise.mappings.spec import load_mapping, mapping_path
from harmonise.onboarding.errors import OnboardingError
from harmonise.onboarding.headers import match_header
from harmonise.onboarding.inference import Draft, FileDraft, _guess_role, plan_file
from harmonise.onboarding.profile import mark_linking_codes, profile
from harmonise.onboarding.repeated import drafted_summaries
from harmonise.onboarding.writing import render
from harmonise.schemas.canonical import CENTER_PATTERN


# -- entry points ----------------------------------------------------------------------------
def check_center_id(center: str) -> None:
    if not re.fullmatch(CENTER_PATTERN, center or ""):
        raise OnboardingError(f"'{center}' is not a valid center id",
                              hint="Use lower-case letters, digits and _, starting with a letter "
                                   "(e.g. site_d); it names mappings/<center>.yaml and the inbox folder.")


def build_draft(center: str, exports: list[Path | str]) -> Draft:
    """Profile the exports and draft the center's mapping (text and decisions)."""
    check_center_id(center)
    if not exports:
        raise OnboardingError("no export file given", hint=f"Name the export file(s), e.g. "
                                                            f"`harmonise new-center {center} export.xlsx`.")
    profiles = [profile(Path(p)) for p in exports]
    names = [p.path.name for p in profiles]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise OnboardingError(f"two exports have the same file name ({', '.join(twice)})",
                              hint="A center's files sit side by side in <inbox>/<center>/: rename one.")
    mark_linking_codes([t for prof in profiles for t in prof.tables])
    files, skipped = [], []
    for prof in profiles:
        for table in prof.tables:
            if not table.columns:
                continue
            files.append(FileDraft(table=table, profile=prof))
    if not files:
        raise OnboardingError("no data found in the export(s)", hint="Check that the files hold a header row and rows.")
    roles = {id(f): _guess_role(f.table)[0] for f in files}
    files.sort(key=lambda f: roles[id(f)] != "patients")   # patients files first: they hold the key
    if roles[id(files[0])] != "patients":
        raise OnboardingError(
            "none of the exports looks like a patients file (one row per patient)",
            hint="A center needs a file or sheet with one row per patient (sex, age, histology, "
                 "treatment, outcome). Name it too, or check its header row.")
    key_header = None
    start_mapped = any("treatment.start_date" in [t for _, t, _ in match_header(c.name)[:1]]
                       for f in files for c in f.table.columns)
    summarised = frozenset().union(*(drafted_summaries({"assessment.assessment_date",
                                                         "assessment.response"}, set())[0]
                                      for f in files if roles[id(f)] == "assessments"))
    patients_targets: set[str] = set()
    for file in files:
        plan_file(file, key_header, start_mapped, frozenset(patients_targets), summarised)
        if file.role == "patients":
            patients_targets |= {c.target for c in file.columns if c.target} | set(file.constants)
        if key_header is None:
            key_header = next((c.source for c in file.columns
                               if isinstance(c.spec, dict) and c.spec.get("identifier") == "pseudonymise"), None)
    for file in files:
        if file.table.sheet is not None and len(file.profile.tables) > 1 and not any(
                c.target for c in file.columns) and not file.wide:
            skipped.append(f"sheet {file.table.sheet} of {file.name}: no column matched; it was "
                           "left in the draft as all `drop`: delete its entry if it holds no data")
    text = render(files, center, skipped)
    _self_check(center, text)
    return Draft(center=center, text=text, files=files, skipped=skipped)


def draft_mapping(center_id: str, export_paths: list[Path | str]) -> str:
    """The YAML text of a draft ``mappings/<center_id>.yaml`` for these export files."""
    return build_draft(center_id, export_paths).text


def write_draft(center_id: str, export_paths: list[Path | str], *, mappings_dir: Path,
                force: bool = False) -> Draft:
    """Write the draft to ``<mappings_dir>/<center_id>.yaml``; refuse to overwrite unless ``force``."""
    check_center_id(center_id)
    path = mapping_path(center_id, mappings_dir)
    if path.exists() and not force:
        raise OnboardingError(
            f"{path} already exists: the draft was not written",
            hint=f"Run `harmonise check {center_id}` to check the mapping you have, choose another "
                 "center id, or add --force to replace the file (your edits in it would be lost).")
    draft = build_draft(center_id, export_paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.text, encoding="utf-8")
    draft.path = path
    return draft


def _self_check(center: str, text: str) -> None:
    """A draft must load with the mapping reader (else the drafter has a bug: say so plainly)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, f"{center}.yaml").write_text(text, encoding="utf-8")
        try:
            load_mapping(center, Path(tmp))
        except MappingError as err:  # pragma: no cover - a drafter bug, not a user error
            raise AssertionError(f"the drafted mapping does not load: {err.message}\n{text}") from err
