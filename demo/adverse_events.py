"""The cohort's adverse events: every cell of Table 2 under the worst-grade rule."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from harmonise.demo.cohort_spec import AE_COLUMNS, AE_WORST_GRADES, CUTOFF, N_WITH_AE
from harmonise.demo.draws import expand


CHEMO_TERMS = ("myelosuppression", "gastrointestinal_reaction")  # high grades: chemo first
COVERING_TERMS = ("gastrointestinal_reaction", "fatigue")  # dealt last, to uncovered first


def worst_grades(df: pd.DataFrame, reason: np.ndarray, case_row: int, rng) -> tuple[dict, set]:
    """(row, term) -> worst grade, reproducing Table 2 cell by cell.

    Slots are dealt highest grade first. Chemotherapy patients take the
    myelosuppression slots and the grade >= 3 gastrointestinal slots first;
    hypertension only occurs with antiangiogenic agents; the two common terms
    are dealt last and go first to patients still without any AE, so exactly
    ``N_WITH_AE`` patients have one. The two grade-4 immune events and the
    case patient's grade-3 anorexia are the AEs that led to discontinuation
    (returned as the second value).
    """
    n = len(df)
    chemo = (df["cytotoxic_agents"] != "").to_numpy()
    antiangio = (df["antiangiogenic_agents"] != "").to_numpy()
    ae_stoppers = [i for i in np.flatnonzero(reason == "adverse_event") if i != case_row]
    pinned = {(int(ae_stoppers[0]), "cytokine_release_syndrome"): 4,
              (int(ae_stoppers[1]), "hyperglycemia"): 4,
              (case_row, "gastrointestinal_reaction"): 3}
    must = {int(i) for i in np.flatnonzero(chemo)} | {r for r, _ in pinned}
    optional = [i for i in range(n) if i not in must]
    extra = rng.choice(optional, size=N_WITH_AE - len(must), replace=False)
    with_ae = sorted(must | {int(i) for i in extra})
    worst = dict(pinned)
    terms = [t for t in AE_WORST_GRADES if t not in COVERING_TERMS] + list(COVERING_TERMS)
    for term in terms:
        slots = expand(dict(zip((1, 2, 3, 4), AE_WORST_GRADES[term])))[::-1]
        for (_, t), g in pinned.items():
            if t == term:
                slots.remove(g)
        pool = [i for i in with_ae if (i, term) not in pinned
                and (term != "hypertension" or antiangio[i])]
        noise = dict(zip(pool, rng.random(len(pool))))
        covered = {r for r, _ in worst}

        def priority(i, grade):
            wants_chemo = term == "myelosuppression" or (term in CHEMO_TERMS and grade >= 3)
            return (wants_chemo and not chemo[i],
                    term in COVERING_TERMS and i in covered, noise[i])
        for grade in slots:
            best = min(pool, key=lambda i: priority(i, grade))
            pool.remove(best)
            worst[(best, term)] = grade
    return worst, set(pinned)


def adverse_event_rows(df, worst: dict, decisive: set, rng) -> pd.DataFrame:
    """Expand worst grades into dated events (some with an earlier, milder episode).

    Onsets fall between the start and the end of treatment (or the last
    follow-up); the AE that stopped treatment falls in the two weeks before
    the end date. site_c records onset in whole weeks after the start.
    """
    events = []
    for (row, term), grade in sorted(worst.items()):
        p = df.loc[row]
        start = p["start_date"]
        bound = min(p["end_date"] or p["last_followup_date"], CUTOFF)
        span = (bound - start).days
        grades = [grade]
        if grade >= 2 and rng.random() < 0.35:
            grades.insert(0, int(rng.integers(1, grade)))
        elif grade == 1 and rng.random() < 0.15:
            grades.insert(0, 1)
        offsets = sorted(min(span, 7 + int(rng.exponential(45))) for _ in grades)
        if (row, term) in decisive:
            offsets[-1] = max(offsets[0], span - int(rng.integers(0, 15)))
        if p["center_id"] == "site_c":
            offsets = [7 * (o // 7) for o in offsets]
        for g, offset in zip(grades, offsets):
            events.append({"center_id": p["center_id"], "mrn": p["mrn"], "term": term,
                           "grade": g, "onset_date": start + dt.timedelta(days=offset)})
    return pd.DataFrame(events, columns=AE_COLUMNS)
