"""``harmonise init``: a new study project folder, empty and commented, or the reference study.

``init_project(DIR)`` writes ``harmonise.yaml`` (every key, commented), a starter
``plan.yaml`` (commented; docs/analysis-plan.md), empty ``mappings/``,
``vocab/`` and ``inbox/`` folders and a ``.gitignore`` that keeps exports, state and keys out
of version control. ``init_project(DIR, example=True)`` copies the example project shipped
inside the package (``demo/study/``: the three synthetic centers with their exports, the
plan, its published numbers and errata). Neither ever overwrites: the folder must be new
or empty.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from harmonise.analysis.plan import STARTER_PLAN
from harmonise.flows.project import PROJECT_FILE, ProjectError
from harmonise.flows.settings import DEMO_PROJECT
from harmonise.schemas.study_codes import STUDY_CODES_FILE

GITIGNORE = """\
# Never commit what identifies patients or unlocks pseudonyms.
inbox/
var/
*.key
"""

TEMPLATE = """\
# harmonise project: one study. Paths are relative to this folder.
# Keys: docs/operations.md ("The project folder"). `harmonise run` here loads every
# center with a mappings/<center>.yaml from inbox/<center>/.

study: {name}

# The data cut-off (data freeze): dates after it are rejected, follow-up is censored here.
cutoff: {today}

paths:
  inbox: inbox                   # inbox/<center>/ holds each center's export files
  state: var                     # logs, run lock (and, by default, the three below)
  # warehouse: var/warehouse.duckdb
  # report: var/report
  # prefect: var/prefect         # Prefect's own state (never ~/.prefect)

# Where the pseudonymisation key comes from; never write the key itself here.
pseudonym:
  key_env: HARMONISE_PSEUDONYM_KEY   # an environment variable holding it, or:
  # key_file: /etc/harmonise/{name}.key   # a file outside this folder (openssl rand -hex 32)

report:
  small_cell_threshold: 5        # counts below this are masked in a shareable report
  # figure_formats: [svg, png]   # also a PNG at 300 dpi per figure panel (default: [svg])

# schedule:
#   timezone: Europe/Paris       # the time zone of `harmonise serve --cron`
# storage:
#   backend: embedded            # or ducklake (docs/operations.md, "Scaling out")
"""

#: The project's codes.yaml as ``harmonise init`` writes it: comments only (no study codes yet).
CODES_TEMPLATE = """\
# Codes this study adds to harmonise's code lists (docs/mapping-language.md, "A study's own
# codes"). Each then works like a built-in code: spellings in vocab/, `values:`, the contract,
# the data dictionary (python -m harmonise.warehouse.dictionary .). For example:
#
# agent:
#   atezolizumab: {label: Atezolizumab, class: immunotherapy, target: PD-L1}
#   cabozantinib: {label: Cabozantinib, class: antiangiogenic}
# histology:
#   DSRCT: {label: Desmoplastic small round cell tumour, group: small round cell sarcoma}
# ae_term:
#   pneumonitis: {label: Pneumonitis, ctcae: [Pneumonitis]}
"""

FOLDER_NOTES = {
    "mappings": "One <center>.yaml per center: `harmonise new-center CENTER EXPORT...` drafts one "
                "(docs/adding-a-center.md, docs/mapping-language.md).\n",
    "vocab": "Spellings this study adds to the built-in vocabularies: NAME.yaml with `codes:` "
             "(docs/mapping-language.md, \"Vocabularies\"). Codes the built-in code lists lack "
             "(an agent, a histology, an adverse-event term) go in the project's codes.yaml.\n",
    "inbox": "Each center's export files go in inbox/<center>/ (git-ignored: they identify patients).\n",
}


def init_project(target: str | Path, example: bool = False) -> Path:
    """Create the project folder ``target``; return its resolved path."""
    target = Path(target).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ProjectError(f"{target} already exists and is not empty",
                           hint="harmonise init never overwrites: choose a new folder name.")
    if example:
        shutil.copytree(DEMO_PROJECT, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("var", "__pycache__", "*.pyc"))
    else:
        target.mkdir(parents=True, exist_ok=True)
        (target / PROJECT_FILE).write_text(
            TEMPLATE.format(name=_safe_name(target.name), today=dt.date.today().isoformat()), encoding="utf-8")
        shutil.copyfile(STARTER_PLAN, target / "plan.yaml")
        (target / STUDY_CODES_FILE).write_text(CODES_TEMPLATE, encoding="utf-8")
        for folder, note in FOLDER_NOTES.items():
            (target / folder).mkdir()
            (target / folder / "README.md").write_text(note, encoding="utf-8")
    (target / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    return target


def _safe_name(name: str) -> str:
    """The folder name as a plain YAML scalar."""
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "-" for c in name).strip("- ") or "study"
    return cleaned
