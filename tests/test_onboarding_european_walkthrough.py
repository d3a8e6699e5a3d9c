"""A European center's three `;`-separated cp1252 CSV exports, built here, walked from
`harmonise profile` to `new-center` to a clean `check` to the pooled warehouse and report.

The export has what issue 16's data manager met: one row per patient, one row per RECIST
assessment (best response and progression exist only there), one row per adverse event;
French headers and values; a footer line `Total;24 patients;;;`; ages written with a decimal
comma and half years; names, the NIR and the hospital number; a PD-L1 inhibitor (atezolizumab)
and an agent in no built-in list (cabozantinib), which the study adds in its codes.yaml. The
data manager's edits are YAML only (the drafted mapping with its TODOs resolved, codes.yaml). The best response and the PFS events
are computed in this test from the generated rows, by the rule the mapping states.
"""
from __future__ import annotations

import json
import math
import random
import shutil

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from harmonise.flows import steps
from harmonise.flows.cli import app
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, Settings
from tests.conftest import ingest_all

CENTER = "site_fr"
N = 24
CONFIRM_DAYS = 28
PATIENTS, ASSESSMENTS, EVENTS = "patients.csv", "evaluations.csv", "effets_indesirables.csv"
PATIENT_HEADER = ["IPP", "Nom", "Prénom", "NIR", "Sexe", "Âge", "Histologie", "Ligne de traitement",
                  "Date de début", "Protocole", "Date de décès", "Date des dernières nouvelles"]
ASSESSMENT_HEADER = ["IPP", "Date d'évaluation", "Réponse RECIST", "Commentaire"]
EVENT_HEADER = ["IPP", "Événement indésirable", "Grade", "Date de survenue"]
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
GIVEN = ["Élodie", "François", "Hélène", "Jérôme", "Chloé", "Benoît", "Noémie", "Loïc"]
HISTOLOGY = {"Sarcome alvéolaire des parties molles": "ASPS", "Sarcome pléomorphe indifférencié": "UPS",
             "Synovialosarcome": "SS", "Léiomyosarcome": "LMS"}
#: atezolizumab (a PD-L1 inhibitor) and cabozantinib are in no built-in code list: the study adds
#: them in its codes.yaml (STUDY_CODES)
REGIMENS = ["Pembrolizumab", "Pembrolizumab + Pazopanib", "Atezolizumab", "Atezolizumab + Cabozantinib"]
STUDY_CODES = """\
agent:
  atezolizumab: {label: Atezolizumab, class: immunotherapy, target: PD-L1}
  cabozantinib: {label: Cabozantinib, class: antiangiogenic}
"""
#: French RECIST words -> codes (the built-in French vocabulary knows them)
RESPONSE = {"Réponse complète": "CR", "Réponse partielle": "PR", "Maladie stable": "SD",
            "Progression": "PD"}
WORDS = {code: word for word, code in RESPONSE.items()}
AE_TERMS = {"Fatigue": "fatigue", "Hypertension artérielle": "hypertension", "Diarrhée": "gastrointestinal_reaction"}
ORDER = {"CR": 1, "PR": 2, "SD": 3, "PD": 4, "NE": 5}


def _fr(day: pd.Timestamp) -> str:
    return f"{day:%d/%m/%Y}"


def _csv(path, header: list[str], rows: list[list], footer: str | None = None) -> None:
    lines = [";".join(header)] + [";".join("" if v is None else str(v) for v in row) for row in rows]
    if footer:
        lines.append(footer)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def build_export(folder, seed: int = 20260416) -> dict:
    """Write the three files; return the generated truth the test checks the warehouse against."""
    rng = random.Random(seed)
    patients, assessments, events = [], [], []
    truth = {"ages": {}, "assessments": {}, "death": {}, "last_news": {}, "secrets": [], "events": 0}
    for i in range(N):
        ipp = f"IPP{870100 + 13 * i}"
        start = pd.Timestamp("2022-02-01") + pd.Timedelta(days=rng.randint(0, 300))
        age = rng.randint(19, 78) + (0.5 if i % 3 == 0 else 0)
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        nir = f"{1 + i % 2}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(10, 95)}" \
              f"{rng.randint(100, 999)}{rng.randint(100, 999)}"
        nir += f"{97 - int(nir) % 97:02d}"
        # assessments every 6-10 weeks; most patients progress at some point
        day, visits = start, []
        progress_at = rng.randint(1, 6) if i not in (3, 17) else None
        for n in range(rng.randint(3, 7) if progress_at is None else progress_at + rng.randint(0, 2)):
            day = day + pd.Timedelta(days=rng.randint(42, 70))
            if progress_at is not None and n >= progress_at:
                code = rng.choice(["PD", "SD", "PR"])   # after progression: does not count
            elif progress_at is not None and n == progress_at - 1:
                code = "PD"
            else:
                code = rng.choice(["CR", "PR", "PR", "SD", "SD"])
            visits.append((day, code))
        died = i % 4 == 0                      # patients 3 and 17: neither progression nor death
        last_news = day + pd.Timedelta(days=rng.randint(-20, 60))
        death = last_news if died else None
        truth["ages"][ipp] = age
        truth["assessments"][ipp] = visits
        truth["death"][ipp] = death
        truth["last_news"][ipp] = last_news
        truth["secrets"] += [ipp, surname, nir]
        histology = list(HISTOLOGY)[i % 4]
        patients.append([ipp, surname, given, nir, "Femme" if i % 2 else "Homme",
                         f"{age:g}".replace(".", ","), histology, 1 + i % 3, _fr(start),
                         REGIMENS[i % 4], _fr(death) if death is not None else None, _fr(last_news)])
        for day_, code in visits:
            assessments.append([ipp, _fr(day_), WORDS[code], "RAS" if code == "SD" else None])
        for term in list(AE_TERMS)[:i % 3]:
            events.append([ipp, term, 1 + (i + len(term)) % 3, _fr(start + pd.Timedelta(days=21))])
    rng.shuffle(assessments)
    truth["events"] = len(events)
    truth["assessment_rows"] = len(assessments)
    _csv(folder / PATIENTS, PATIENT_HEADER, patients, footer=f"Total;{N} patients;;;")
    _csv(folder / ASSESSMENTS, ASSESSMENT_HEADER, assessments)
    _csv(folder / EVENTS, EVENT_HEADER, events)
    return truth


def expected_best_response(visits: list[tuple[pd.Timestamp, str]], confirm_days: int) -> str:
    """RECIST best overall response as the mapping states it, written out independently.

    Up to the first progression; a CR needs a CR, a PR a PR or CR, at least `confirm_days`
    later to count as such, else it counts as stable disease.
    """
    visits = sorted(visits)
    until = next((k for k, (_, c) in enumerate(visits) if c == "PD"), len(visits) - 1)
    counted = []
    for k, (day, code) in enumerate(visits[:until + 1]):
        later = {c for d, c in visits[k + 1:until + 1] if (d - day).days >= confirm_days}
        if code == "CR":
            code = "CR" if "CR" in later else ("PR" if later & {"PR"} else "SD")
        elif code == "PR":
            code = "PR" if later & {"CR", "PR"} else "SD"
        counted.append(code)
    return min(counted, key=ORDER.__getitem__)


#: The draft with its TODOs resolved by the data manager (YAML only): the one French spelling the
#: built-in vocabularies lack under `values:`, what the export does not record, and the
#: confirmation rule of the protocol.
MAPPING = """\
center: site_fr
mapping_version: 1
description: three cp1252 CSV files (semicolon-separated), French headers and values
files:
  - role: patients
    name: patients.csv
    encoding: cp1252
    delimiter: ";"
    skip_footer: 1                      # Total;24 patients;;;
    date_format: "%d/%m/%Y"
    decimal: ","
    not_recorded: [patient.primary_site, patient.lung_metastasis, patient.other_metastasis,
                   patient.ecog, patient.prior_lines, treatment.end_date,
                   treatment.discontinuation_reason]
    columns:
      IPP: {identifier: pseudonymise}
      Nom: {identifier: drop}
      Prénom: {identifier: drop}
      NIR: {identifier: drop}
      Sexe: {to: patient.sex, vocab: sex}
      Âge: {to: patient.age_years, age_rule: floor}
      Histologie: {to: patient.histology, vocab: histology, values: {Synovialosarcome: SS}}
      Ligne de traitement: {to: treatment.line_of_therapy}
      Date de début: {to: treatment.start_date}
      Protocole: {split_regimen: {separator: "+"}}
      Date de décès: {to: outcome.death_date}
      Date des dernières nouvelles: {to: outcome.last_followup_date}
    constants:
      treatment.course_no: 1

  - role: assessments
    name: evaluations.csv
    encoding: cp1252
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns:
      IPP: {identifier: pseudonymise}
      "Date d'évaluation": {to: assessment.assessment_date}
      Réponse RECIST: {to: assessment.response, vocab: best_response}
      Commentaire: drop
    summaries:
      outcome.best_response: {summary: best_response, confirmation: 28}
      outcome.progression_date: {summary: first_date_of, code: PD}
      outcome.last_followup_date: {summary: last_date, combine: latest}

  - role: adverse_events
    name: effets_indesirables.csv
    encoding: cp1252
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns:
      IPP: {identifier: pseudonymise}
      Événement indésirable: {to: adverse_event.term, vocab: ae_term}
      Grade: {to: adverse_event.grade}
      Date de survenue: {to: adverse_event.onset_date}
"""

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def project(tmp_path):
    from harmonise.flows.scaffold import init_project
    root = init_project(tmp_path / "study", example=True)
    (root / "inbox" / CENTER).mkdir()
    return root


def _expected(truth: dict) -> dict[str, dict]:
    """Per patient: best response, progression date, last follow-up, PFS event (from the rows)."""
    out = {}
    for ipp, visits in truth["assessments"].items():
        progression = min((d for d, c in visits if c == "PD"), default=None)
        death = truth["death"][ipp]
        out[ipp] = {"best": expected_best_response(visits, CONFIRM_DAYS), "progression": progression,
                    "last": max(truth["last_news"][ipp], max(d for d, _ in visits)),
                    "pfs_event": progression is not None or death is not None,
                    "age": math.floor(truth["ages"][ipp])}
    return out


@pytest.mark.slow
def test_a_european_export_with_assessments_walks_from_profile_to_the_pooled_report(
        project, prefect_server):
    inbox = project / "inbox" / CENTER
    truth = build_export(inbox)
    expected = _expected(truth)
    files = [str(inbox / name) for name in (PATIENTS, ASSESSMENTS, EVENTS)]
    printed = []

    # profile: the footer, the decimal comma and the repeated assessments are seen
    shown = runner.invoke(app, ["profile", files[0]], env=WIDE)
    assert shown.exit_code == 0, shown.output
    assert "Footer" in shown.output and "number (, decimal)" in shown.output
    shown_assessments = runner.invoke(app, ["profile", files[1]], env=WIDE)
    assert "Repeated measurements" in shown_assessments.output
    printed += [shown.output, shown_assessments.output]

    # new-center: the draft uses what profile found, and drafts the assessments role
    drafted = runner.invoke(app, ["new-center", CENTER, *files, "--project", str(project)], env=WIDE)
    assert drafted.exit_code == 0, drafted.output
    draft = (project / "mappings" / f"{CENTER}.yaml").read_text(encoding="utf-8")
    for line in ('date_format: "%d/%m/%Y"', 'decimal: ","', "skip_footer: 1", "encoding: cp1252",
                 "IPP: {identifier: pseudonymise}", "Nom: {identifier: drop}",
                 "Prénom: {identifier: drop}", "NIR: {identifier: drop}", "role: assessments",
                 "\"Date d'évaluation\": {to: assessment.assessment_date}",
                 "outcome.best_response: {summary: best_response, confirmation: none}",
                 "outcome.progression_date: {summary: first_date_of, code: PD}",
                 "outcome.last_followup_date: {summary: last_date, combine: latest}"):
        assert line in draft, line
    printed.append(drafted.output)

    # the data manager resolves the TODOs in the YAML; check names the agents no code list has,
    # each as the unknown part of its cell, and says the fix belongs in the project's codes.yaml
    (project / "mappings" / f"{CENTER}.yaml").write_text(MAPPING, encoding="utf-8")
    unknown = runner.invoke(app, ["check", CENTER, "--project", str(project), "--json"], env=WIDE)
    assert unknown.exit_code == 1, unknown.output
    found = json.loads(unknown.output)
    unknown_values = {(r["column"], r["detail"], r["rows"]) for r in found if r["kind"] == "unknown value"}
    assert unknown_values == {("Protocole", "'Atezolizumab'", N // 2), ("Protocole", "'Cabozantinib'", N // 4)}
    assert any("codes.yaml" in r["detail"] for r in found if r["kind"] == "would be quarantined")
    printed.append(unknown.output)
    (project / "codes.yaml").write_text(STUDY_CODES, encoding="utf-8")
    checked = runner.invoke(app, ["check", CENTER, "--project", str(project)], env=WIDE)
    assert checked.exit_code == 0, checked.output
    assert f"Would load {N} patients, {truth['assessment_rows']} assessments and" in checked.output
    printed.append(checked.output)

    # run: the four centers into the pooled warehouse, then the report
    env = WIDE | {"PREFECT_API_URL": prefect_server.api}
    ran = runner.invoke(app, ["run", "--project", str(project)], env=env)
    assert ran.exit_code == 0, ran.output
    reported = runner.invoke(app, ["report", "--project", str(project)], env=WIDE)
    assert reported.exit_code == 0, reported.output
    printed += [ran.output, reported.output]

    from harmonise.flows.project import load_project
    settings = load_project(project)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        stored = con.execute(
            "SELECT p.source_row, p.age_years, o.best_response, o.progression_date, "
            "o.last_followup_date, o.progression_date IS NOT NULL OR o.death_date IS NOT NULL "
            "FROM patient p JOIN outcome o USING (center_id, patient_key) WHERE center_id = ? "
            "ORDER BY p.source_row", [CENTER]).fetchall()
        assessments = con.execute("SELECT count(*), count(DISTINCT source_row), min(source_file), "
                                  "max(source_file) FROM assessment WHERE center_id = ?",
                                  [CENTER]).fetchone()
        quarantined = con.execute("SELECT count(*) FROM quarantine WHERE center_id = ?",
                                  [CENTER]).fetchone()[0]
        pooled = con.execute("SELECT count(DISTINCT center_id) FROM v_patient").fetchone()[0]
        agents = con.execute("SELECT immunotherapy_agent, antiangiogenic_agents, count(*) FROM treatment "
                             "WHERE center_id = ? GROUP BY ALL ORDER BY ALL", [CENTER]).fetchall()
    rows = list(expected.values())          # patients file order = generation order
    assert [r[1] for r in stored] == [e["age"] for e in rows]
    assert [r[2] for r in stored] == [e["best"] for e in rows]
    assert [r[3] for r in stored] == [None if e["progression"] is None else e["progression"].date()
                                      for e in rows]
    assert [r[4] for r in stored] == [e["last"].date() for e in rows]
    assert sum(r[5] for r in stored) == sum(e["pfs_event"] for e in rows) == 22
    assert assessments == (truth["assessment_rows"], truth["assessment_rows"], ASSESSMENTS, ASSESSMENTS)
    assert quarantined == 0 and pooled == 4
    assert agents == [("atezolizumab", "cabozantinib", N // 4), ("atezolizumab", None, N // 4),
                      ("pembrolizumab", "pazopanib", N // 4), ("pembrolizumab", None, N // 4)]
    html = (settings.report_dir / "report.html").read_text(encoding="utf-8")
    assert CENTER in html

    # nothing identifying in what was printed, the warehouse or the report
    blobs = [p.read_bytes() for p in settings.home.rglob("*") if p.is_file()]
    for secret in truth["secrets"]:
        assert not any(secret in text for text in printed), secret
        assert not any(secret.encode() in blob for blob in blobs), secret
