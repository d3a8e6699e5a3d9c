"""Vocabulary suggestion: which shared vocabulary a column's values belong to, and what an
unknown spelling probably means (only ever proposed in a TODO, never applied)."""
from __future__ import annotations

import difflib
import json
import re

import pandas as pd
import yaml

from harmonise.mappings.vocabulary import canonical_vocabulary, normalise, shared, translate
from harmonise.schemas.canonical import COLUMN_VOCABULARY, agent_class_columns
from harmonise.schemas.codes import codes
from harmonise.schemas.study_codes import EXTENSIBLE


#: Share of a column's distinct values a vocabulary must know to be proposed from values alone.
VOCAB_SHARE = 0.8
#: Canonical column -> the shared vocabulary its values are translated with (said in the contract).
TARGET_VOCAB = COLUMN_VOCABULARY
#: Columns that may hold several agents in one cell.
MULTI_VALUED = {"treatment.antiangiogenic_agents", "treatment.cytotoxic_agents"}
#: What may join several values in one cell, in order of preference.
SEPARATORS = ("+", "、", "/", ",", ";", "，", "；")


#: Traditional -> Simplified characters common in sarcoma exports. Used ONLY to suggest a code
#: for an unknown spelling in a TODO (translation itself stays exact: see the vocabularies).
_TRADITIONAL = ("狀状軟软組组織织纖纤維维經经惡恶噁恶體体質质膚肤腎肾臟脏關关節节脈脉變变細细"
                "發发療疗藥药進进應应腫肿轉转結结腸肠膽胆貧贫壓压嘔呕瀉泻癢痒減减異异損损傷伤"
                "圍围軀躯幹干縱纵頭头頸颈後后達达納纳單单羅罗樂乐衛卫瑪玛華华環环醯酰黴霉濱滨"
                "賽赛貝贝術术頻频穩稳緩缓無无評评價价絕绝繼继續续釋释綜综徵征號号樣样鞘鞘")
TRADITIONAL_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])


# -- values -----------------------------------------------------------------------------------
def vocabulary_coverage(counts: dict[str, int], vocabulary: str, separator: str | None = None
                        ) -> tuple[float, dict[str, int]]:
    """``(share of distinct values known, {unknown value: rows})`` for one vocabulary."""
    if not counts:
        return 0.0, {}
    values = pd.Series(list(counts), dtype="string")
    parts = values.str.split(separator, regex=False).explode().str.strip() if separator else values
    parts = parts[parts.notna() & (parts != "")]
    known = translate(parts, vocabulary).notna()
    unknown: dict[str, int] = {}
    for idx, part in parts[~known].items():
        unknown[part] = unknown.get(part, 0) + counts[values.loc[idx]]
    return float(known.groupby(level=0).all().mean()), unknown


def guess_separator(counts: dict[str, int], vocabulary: str) -> str | None:
    """The separator whose parts the vocabulary knows best, if any cell holds one."""
    best, best_share = None, vocabulary_coverage(counts, vocabulary)[0]
    for sep in SEPARATORS:
        if not any(sep in v for v in counts):
            continue
        share = vocabulary_coverage(counts, vocabulary, sep)[0]
        if share > best_share:
            best, best_share = sep, share
    return best


def fold_traditional(text: str) -> str:
    return text.translate(TRADITIONAL_TO_SIMPLIFIED)


#: Vocabularies whose codes are distinct substances, named alike by class (-lizumab, -tinib):
#: a name close to a listed one is usually another drug (atezolizumab is not tislelizumab), so
#: only a near-identical spelling (a typo, at this similarity) is proposed.
DISTINCT_NAMES = {"agent": 0.85}


def suggest_code(value: str, vocabulary: str, agent_class: str | None = None) -> tuple[str, str] | None:
    """``(code, known spelling)`` a unknown spelling is probably meant as, or None.

    Tries the Simplified form of a Traditional spelling, a known spelling the value
    starts (``'Tox'`` -> ``'Toxicity'``), then difflib on whole spellings and their words; for
    agents (``DISTINCT_NAMES``) only a near-identical spelling, of the column's ``agent_class``
    when it holds one class.
    """
    lookup = shared(vocabulary)
    canonical = canonical_vocabulary(vocabulary)
    if agent_class:
        allowed = set(codes(canonical, **{"class": agent_class}))
        lookup = {s: c for s, c in lookup.items() if c in allowed}
    key = fold_traditional(normalise(value))
    if key in lookup:
        return lookup[key], key
    if canonical in DISTINCT_NAMES:
        close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=DISTINCT_NAMES[canonical])
        return (lookup[close[0]], close[0]) if close else None
    if len(key) >= 3:
        for spelling, code in lookup.items():
            if spelling.startswith(key):
                return code, spelling
    words = {w: s for s in lookup for w in s.split() if len(w) >= 4}
    close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.6)
    if close:
        return lookup[close[0]], close[0]
    close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.7)
    if close:
        return lookup[words[close[0]]], words[close[0]]
    return None


def best_vocabulary(counts: dict[str, int]) -> tuple[str, float] | None:
    """The shared vocabulary that knows most of a column's distinct values (>= VOCAB_SHARE)."""
    if len(counts) < 2:
        return None
    scores = []
    for target, vocabulary in TARGET_VOCAB.items():
        if target in MULTI_VALUED or target == "treatment.immunotherapy_agent":
            continue  # agents: which class a column holds is decided by the header
        share = vocabulary_coverage(counts, vocabulary)[0]
        scores.append((share, vocabulary))
    share, vocabulary = max(scores)
    return (vocabulary, share) if share >= VOCAB_SHARE else None



def _shown(values: dict[str, int], limit: int = 12) -> str:
    items = [f"{_one_line(v)!r} x{n}" for v, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f", ... and {more} more" if more > 0 else "")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", str(text))



AGENT_CLASS = {f"treatment.{column}": cls for cls, column in agent_class_columns().items()}


def _unknown_todo(unknown: dict[str, int], vocabulary: str, target: str | None = None) -> str:
    """A TODO listing values the vocabulary does not know, with suggestions where close."""
    suggestions = {v: suggest_code(v, vocabulary, AGENT_CLASS.get(target or "")) for v in unknown}
    listed = []
    for value, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0])):
        hint = suggestions[value]
        listed.append(f"{_one_line(value)!r} x{n}" + (f" (like '{hint[1]}' = {hint[0]}?)" if hint else ""))
    cls = AGENT_CLASS.get(target or "")
    valid = sorted(codes(canonical_vocabulary(vocabulary), **({"class": cls} if cls else {})))
    ordered = sorted(unknown, key=lambda v: (-unknown[v], v))
    snippet = ", ".join(f"{_flow_scalar(v)}: {suggestions[v][0] if suggestions[v] else '?'}"
                        for v in ordered[:8])
    guessed = any(suggestions.values())
    return (f"{len(unknown)} value(s) not in vocabulary '{vocabulary}': {', '.join(listed[:12])}"
            + (f", ... and {len(listed) - 12} more" if len(listed) > 12 else "")
            + f". Give their codes in this column: `values: {{{snippet}}}` (codes: {', '.join(valid)}; "
            + ("check each guess, " if guessed else "")
            + ("replace each ? with the code the hospital means" if not all(suggestions.values())
               else "keep only the right ones")
            + f"), or add the spellings to the project's vocab/{vocabulary}.yaml"
            + (f"; {_a(canonical_vocabulary(vocabulary).replace('_', ' '))} the code list lacks goes "
               "in the project's codes.yaml" if canonical_vocabulary(vocabulary) in EXTENSIBLE
               and not all(suggestions.values()) else ""))


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _flow_scalar(text: str) -> str:
    """A scalar inside ``{...}``: double-quoted unless plain letters and digits."""
    text = str(text)
    if re.fullmatch(r"[A-Za-z\u0080-\U0010ffff][\w\u0080-\U0010ffff.\- ]*", text) \
            and not text.endswith(" ") \
            and yaml.safe_load(f"k: {text}") == {"k": text}:
        return text
    return json.dumps(text, ensure_ascii=False)
