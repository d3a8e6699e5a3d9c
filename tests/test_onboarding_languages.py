"""The drafter matches clinical headers in French, German and Spanish (exports built here)."""
from __future__ import annotations

import pandas as pd
import pytest

from harmonise.onboarding.draft import build_draft

HEADERS = {
    "fr": {"IPP": None, "Nom": None, "Sexe": "patient.sex", "Âge": "patient.age_years",
           "Histologie": "patient.histology", "Date de début": "treatment.start_date",
           "Meilleure réponse": "outcome.best_response", "Date de décès": "outcome.death_date",
           "Dernières nouvelles": "outcome.last_followup_date"},
    "de": {"Patientennummer": None, "Nachname": None, "Geschlecht": "patient.sex",
           "Alter": "patient.age_years", "Histologie": "patient.histology",
           "Therapiebeginn": "treatment.start_date", "Bestes Ansprechen": "outcome.best_response",
           "Todesdatum": "outcome.death_date", "Letzter Kontakt": "outcome.last_followup_date"},
    "es": {"Historia clínica": None, "Apellidos": None, "Sexo": "patient.sex",
           "Edad": "patient.age_years", "Histología": "patient.histology",
           "Fecha de inicio": "treatment.start_date", "Mejor respuesta": "outcome.best_response",
           "Fecha de muerte": "outcome.death_date", "Último seguimiento": "outcome.last_followup_date"},
}


@pytest.mark.parametrize("language", sorted(HEADERS))
def test_headers_of_a_european_export_are_matched(tmp_path, language):
    headers = list(HEADERS[language])
    rows = [[f"P{1000 + i}", f"Name{i}x", "F" if i % 2 else "M", str(40 + i), "Synovial sarcoma",
             f"0{i + 1}/03/2022", "PR", "", f"1{i}/09/2023"] for i in range(6)]
    path = tmp_path / f"export_{language}.csv"
    pd.DataFrame(rows, columns=headers).to_csv(path, sep=";", index=False, encoding="cp1252")
    draft = build_draft("site_eu", [path])
    columns = {c.source: c for c in draft.files[0].columns}
    for header, target in HEADERS[language].items():
        if target is None:   # identifiers: the record number pseudonymised, the name dropped
            assert "identifier" in columns[header].spec, header
        else:
            assert columns[header].target == target, header
    assert draft.files[0].date_format == "%d/%m/%Y"    # from the date columns profile found
    assert "P1000" not in draft.text and "Name0x" not in draft.text
