"""The built-in vocabularies read French, German, Spanish, Italian and Portuguese exports.

For each language, a small export written in the test (values as a hospital of that language
writes them: sex, yes/no, ECOG and response words, end-of-treatment reasons, histologies, sites,
local treatments, agents, adverse-event terms and grades) is mapped with YAML alone and every
value lands on the code the test expects, with nothing quarantined.
"""
from __future__ import annotations

import pandas as pd
import pytest

from harmonise.flows.settings import Settings
from harmonise.mappings.pseudonym import DEMO_KEY
from harmonise.mappings.vocabulary import available, normalise, shared
from harmonise.pipeline.center import build_batch

MAPPING = """\
center: x_site
files:
  - role: patients
    name: patients.csv
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns:
      MRN: {identifier: pseudonymise}
      Sex: {to: patient.sex, vocab: sex}
      Age: {to: patient.age_years}
      Histology: {to: patient.histology, vocab: histology}
      Site: {to: patient.primary_site, vocab: primary_site}
      Lung: {to: patient.lung_metastasis}
      Other: {to: patient.other_metastasis}
      ECOG: {to: patient.ecog, vocab: ecog}
      Prior: {to: patient.prior_lines}
      Line: {to: treatment.line_of_therapy}
      Start: {to: treatment.start_date}
      Regimen: {split_regimen: {separator: "+"}}
      Local: {to: treatment.local_treatment, vocab: local_treatment}
      Reason: {to: treatment.discontinuation_reason, vocab: discontinuation_reason}
      End: {to: treatment.end_date}
      BOR: {to: outcome.best_response, vocab: best_response}
      Last: {to: outcome.last_followup_date}
    constants: {treatment.course_no: 1}
  - role: adverse_events
    name: ae.csv
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns:
      MRN: {identifier: pseudonymise}
      Term: {to: adverse_event.term, vocab: ae_term}
      Grade: {to: adverse_event.grade, vocab: ae_grade}
      Onset: {to: adverse_event.onset_date}
"""

# language -> two patients: (sex, histology, site, lung, other, ECOG, regimen, local, reason, response)
#             and their adverse events: (term, grade)
LANGUAGES = {
    "fr": ([("Femme", "Léiomyosarcome", "Membre inférieur", "Oui", "Non", "OMS 1",
             "Pembrolizumab + Doxorubicine", "Radiothérapie", "Toxicité", "Réponse partielle"),
            ("Homme", "Sarcome synovial", "Rétropéritoine", "Non", "Oui", "OMS 0",
             "Nivolumab", "Chirurgie", "Progression", "Maladie stable")],
           [("Asthénie", "Grade 2"), ("Diarrhée", "Sévère"), ("Hypothyroïdie", "Grade I")]),
    "de": ([("Weiblich", "Leiomyosarkom", "Untere Extremität", "Ja", "Nein", "ECOG 1",
             "Pembrolizumab + Doxorubicin", "Strahlentherapie", "Nebenwirkung", "Partielle Remission"),
            ("Männlich", "Synovialsarkom", "Retroperitoneum", "Nein", "Ja", "ECOG 0",
             "Nivolumab", "Operation", "Progression", "Stabile Erkrankung")],
           [("Müdigkeit", "Grad 2"), ("Durchfall", "Schwer"), ("Hypothyreose", "Grad 1")]),
    "es": ([("Mujer", "Leiomiosarcoma", "Miembro inferior", "Sí", "No", "ECOG 1",
             "Pembrolizumab + Doxorrubicina", "Radioterapia", "Toxicidad", "Respuesta parcial"),
            ("Hombre", "Sarcoma sinovial", "Retroperitoneo", "No", "Sí", "ECOG 0",
             "Nivolumab", "Cirugía", "Progresión", "Enfermedad estable")],
           [("Astenia", "Grado 2"), ("Diarrea", "Grave"), ("Hipotiroidismo", "Grado 1")]),
    "it": ([("Donna", "Leiomiosarcoma", "Arto inferiore", "Sì", "No", "OMS 1",
             "Pembrolizumab + Doxorubicina", "Radioterapia", "Tossicità", "Risposta parziale"),
            ("Uomo", "Sarcoma sinoviale", "Retroperitoneo", "No", "Sì", "OMS 0",
             "Nivolumab", "Chirurgia", "Progressione", "Malattia stabile")],
           [("Affaticamento", "Grado 2"), ("Diarrea", "Severo"), ("Ipotiroidismo", "Lieve")]),
    "pt": ([("Mulher", "Leiomiossarcoma", "Membro inferior", "Sim", "Não", "ECOG 1",
             "Pembrolizumab + Doxorrubicina", "Radioterapia", "Toxicidade", "Resposta parcial"),
            ("Homem", "Sarcoma sinovial", "Retroperitônio", "Não", "Sim", "ECOG 0",
             "Nivolumab", "Cirurgia", "Progressão", "Doença estável")],
           [("Fadiga", "Grau 2"), ("Diarreia", "Severo"), ("Hipotireoidismo", "Grau 1")]),
}

# what every language's export means, in codes
PATIENTS = [{"sex": "female", "histology": "LMS", "primary_site": "extremity", "lung_metastasis": True,
             "other_metastasis": False, "ecog": 1, "immunotherapy_agent": "pembrolizumab",
             "cytotoxic_agents": "doxorubicin", "local_treatment": "radiotherapy",
             "discontinuation_reason": "adverse_event", "best_response": "PR"},
            {"sex": "male", "histology": "SS", "primary_site": "retroperitoneum", "lung_metastasis": False,
             "other_metastasis": True, "ecog": 0, "immunotherapy_agent": "nivolumab",
             "cytotoxic_agents": None, "local_treatment": "surgery",
             "discontinuation_reason": "progression", "best_response": "SD"}]
EVENTS = [("fatigue", 2), ("gastrointestinal_reaction", 3), ("thyroid_dysfunction", 1)]


def _export(tmp_path, language: str) -> Settings:
    patients, events = LANGUAGES[language]
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "x_site.yaml").write_text(MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox" / "x_site"
    inbox.mkdir(parents=True)
    rows = ["MRN;Sex;Age;Histology;Site;Lung;Other;ECOG;Prior;Line;Start;Regimen;Local;Reason;End;BOR;Last"]
    for n, (sex, hist, site, lung, other, ecog, regimen, local, why, bor) in enumerate(patients, 1):
        rows.append(f"P{n};{sex};{50 + n};{hist};{site};{lung};{other};{ecog};0;1;10/01/2022;"
                    f"{regimen};{local};{why};10/06/2022;{bor};10/01/2023")
    (inbox / "patients.csv").write_text("\n".join(rows) + "\n", encoding="cp1252" if language != "pt" else "utf-8")
    ae = ["MRN;Term;Grade;Onset"] + [f"P1;{term};{grade};01/03/2022" for term, grade in events]
    (inbox / "ae.csv").write_text("\n".join(ae) + "\n", encoding="utf-8")
    if language != "pt":  # the patients file of the others is cp1252, as a European export often is
        text = (tmp_path / "mappings" / "x_site.yaml").read_text(encoding="utf-8")
        (tmp_path / "mappings" / "x_site.yaml").write_text(text.replace(
            "    name: patients.csv\n", "    name: patients.csv\n    encoding: cp1252\n"), encoding="utf-8")
    return Settings(home=tmp_path / "home", inbox=tmp_path / "inbox", mappings_dir=tmp_path / "mappings",
                    demo_key=True, cutoff=pd.Timestamp("2024-05-25").date())


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_an_export_in_each_european_language_maps_to_the_codes_with_yaml_alone(tmp_path, language):
    batch = build_batch("x_site", _export(tmp_path, language), DEMO_KEY.encode())
    assert batch.quarantine.empty, batch.quarantine[["column_name", "failed_value", "reason"]].to_string()
    patient = batch.clean["patient"].sort_values("age_years")
    treatment = batch.clean["treatment"].set_index("patient_key").loc[patient["patient_key"]]
    outcome = batch.clean["outcome"].set_index("patient_key").loc[patient["patient_key"]]
    got = [{**{c: p[c] for c in ("sex", "histology", "primary_site", "lung_metastasis", "other_metastasis")},
            "ecog": int(p["ecog"]), **{c: t[c] for c in ("immunotherapy_agent", "cytotoxic_agents",
                                                        "local_treatment", "discontinuation_reason")},
            "best_response": o["best_response"]}
           for p, t, o in zip(patient.to_dict("records"), treatment.to_dict("records"),
                              outcome.to_dict("records"))]
    for row in got:
        row["cytotoxic_agents"] = row["cytotoxic_agents"] or None
    assert got == PATIENTS
    events = batch.clean["adverse_event"]
    assert sorted(zip(events["term"], events["grade"].astype(int))) == sorted(EVENTS)


def test_no_spelling_of_a_built_in_vocabulary_means_two_codes():
    import yaml
    from harmonise.mappings.vocabulary import VOCAB_DIR
    for name in available():
        seen: dict[str, str] = {}
        spec = yaml.safe_load((VOCAB_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        for code, spellings in spec["codes"].items():
            for spelling in [code, *(spellings or [])]:
                key = normalise(spelling)
                assert seen.setdefault(key, str(code)) == str(code), (name, spelling, seen[key], code)
        assert len(shared(name)) == len(seen)
