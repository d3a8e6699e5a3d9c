"""Draft a new center's mapping file from its exports: everything that can be guessed, and TODOs.

``draft_mapping(center, exports)`` profiles each export (``mappings.profile``) and writes
the YAML text of ``mappings/<center>.yaml`` in the existing mapping language
(docs/mapping-language.md):

- how to read each file: format, encoding, delimiter, sheet, default date format;
- which file holds one row per patient (``role: patients``) and which one row per
  adverse event, from the columns it could match;
- which export column fills which canonical column: headers are matched against the
  English, Chinese and pinyin spellings of ``mappings/synonyms/headers.yaml`` (difflib
  for near misses), and, for a header that matches nothing, the values against the
  shared vocabularies;
- for each coded column the shared vocabulary, with every value it does not know listed
  in a ``# TODO`` (with counts, and a "looks like" suggestion where one spelling is close);
  local codes such as 1/2 for sex are never guessed;
- ``extract``, ``separator``, ``date_format`` or ``days_after`` where the values call for it;
- direct identifiers: the best record-number column ``{identifier: pseudonymise}``, every
  other one ``{identifier: drop}``; their values never appear in the draft;
- every column it cannot place: ``drop`` with ``# TODO: map or confirm drop``.

The draft always loads with ``mappings.spec.load_mapping`` (it is checked before it is
returned), so ``harmonise check`` can run on it at once and show what is left to do.
"""
from __future__ import annotations

import difflib
import json
import re
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from harmonise.mappings.errors import MappingError
from harmonise.mappings.profile import (IDENTIFIER_HEADERS, IDENTIFIER_LABELS, OnboardingError, Profile,
                              TableProfile, header_has, profile)
from harmonise.mappings.spec import MAPPINGS_DIR, ROLE_TABLES, _default_type, load_mapping, mapping_path
from harmonise.mappings.transforms import EXCEL_SERIAL
from harmonise.mappings.vocabulary import canonical_vocabulary, normalise, shared, translate
from harmonise.schemas.canonical import CENTER_PATTERN, TABLES, columns_of
from harmonise.schemas.codes import codes

HEADERS_FILE = Path(__file__).parent / "synonyms" / "headers.yaml"
SPLIT_REGIMEN = "split_regimen"
#: A header this close to a synonym (0-1) is matched; below CONFIDENT the draft says "check".
MATCH_THRESHOLD = 0.75
CONFIDENT = 0.9
#: Share of a column's distinct values a vocabulary must know to be proposed from values alone.
VOCAB_SHARE = 0.8
#: Canonical column -> the shared vocabulary its values are translated with.
TARGET_VOCAB = {
    "patient.sex": "sex", "patient.histology": "histology", "patient.primary_site": "primary_site",
    "treatment.pd1_agent": "agent", "treatment.antiangiogenic_agents": "agent",
    "treatment.cytotoxic_agents": "agent", "treatment.local_treatment": "local_treatment",
    "treatment.discontinuation_reason": "discontinuation_reason",
    "outcome.best_response": "best_response", "adverse_event.term": "ae_term",
}
#: Columns that may hold several agents in one cell.
MULTI_VALUED = {"treatment.antiangiogenic_agents", "treatment.cytotoxic_agents"}
#: What may join several values in one cell, in order of preference.
SEPARATORS = ("+", "、", "/", ",", ";", "，", "；")
#: A date column of small whole numbers is an offset from the start of therapy.
MAX_OFFSET = 20000
#: Traditional -> Simplified characters common in sarcoma exports. Used ONLY to suggest a code
#: for an unknown spelling in a TODO (translation itself stays exact: see the vocabularies).
_TRADITIONAL = ("狀状軟软組组織织纖纤維维經经惡恶噁恶體体質质膚肤腎肾臟脏關关節节脈脉變变細细"
                "發发療疗藥药進进應应腫肿轉转結结腸肠膽胆貧贫壓压嘔呕瀉泻癢痒減减異异損损傷伤"
                "圍围軀躯幹干縱纵頭头頸颈後后達达納纳單单羅罗樂乐衛卫瑪玛華华環环醯酰黴霉濱滨"
                "賽赛貝贝術术頻频穩稳緩缓無无評评價价絕绝繼继續续釋释綜综徵征號号樣样鞘鞘")
TRADITIONAL_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])


# -- header matching -------------------------------------------------------------------------
@cache
def header_synonyms() -> dict[str, tuple[str, ...]]:
    """``{canonical column: header spellings}`` from ``mappings/synonyms/headers.yaml``."""
    data = yaml.safe_load(HEADERS_FILE.read_text(encoding="utf-8"))
    return {str(target): tuple(str(s) for s in spellings) for target, spellings in data.items()}


def normalise_header(text: str) -> str:
    """``'Tx_Start'`` -> ``'tx start'``; ``'PatientID'`` -> ``'patient id'``; full-width folded."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(text))
    folded = unicodedata.normalize("NFKC", spaced).casefold()
    folded = re.sub(r"[_\-./()\[\]:：（）,，]+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def header_score(header: str, synonym: str) -> float:
    """How well a header matches one synonym, 0-1: 1 exact, ~0.8-0.95 contained, else difflib."""
    h, s = normalise_header(header), normalise_header(synonym)
    if not h or not s:
        return 0.0
    if h == s or h.replace(" ", "") == s.replace(" ", ""):
        return 1.0
    score = difflib.SequenceMatcher(None, h, s).ratio()
    if re.search(r"[^\x00-\x7f]", s):
        if len(s) >= 2 and s in h:
            score = max(score, 0.8 + 0.15 * len(s) / len(h))
    else:
        ht, st = h.split(), s.split()
        if any(ht[i:i + len(st)] == st for i in range(len(ht) - len(st) + 1)):
            score = max(score, 0.8 + 0.15 * len(s) / len(h))
    return score


def match_header(header: str, targets=None) -> list[tuple[float, str, str]]:
    """``[(score, canonical column, synonym)]`` at or above ``MATCH_THRESHOLD``, best first."""
    found = []
    for target, spellings in header_synonyms().items():
        if targets is not None and target not in targets:
            continue
        score, synonym = max((header_score(header, s), s) for s in spellings)
        if score >= MATCH_THRESHOLD:
            found.append((score, target, synonym))
    return sorted(found, key=lambda f: (-f[0], f[1]))


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


def suggest_code(value: str, vocabulary: str) -> tuple[str, str] | None:
    """``(code, known spelling)`` a unknown spelling is probably meant as, or None.

    Tries the Simplified form of a Traditional spelling, a known spelling the value
    starts (``'Tox'`` -> ``'Toxicity'``), then difflib on whole spellings and their words.
    """
    lookup = shared(vocabulary)
    key = fold_traditional(normalise(value))
    if key in lookup:
        return lookup[key], key
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
        if target in MULTI_VALUED or target == "treatment.pd1_agent":
            continue  # agents: which class a column holds is decided by the header
        share = vocabulary_coverage(counts, vocabulary)[0]
        scores.append((share, vocabulary))
    share, vocabulary = max(scores)
    return (vocabulary, share) if share >= VOCAB_SHARE else None


# -- the draft --------------------------------------------------------------------------------
@dataclass
class ColumnDraft:
    """One column's line in the draft, and the comments around it."""

    source: str
    spec: dict | str                            # a column entry, or the shorthand "drop"
    note: str = ""                              # end-of-line comment (what was guessed from what)
    todos: list[str] = field(default_factory=list)
    target: str | None = None

    @property
    def is_todo(self) -> bool:
        return bool(self.todos)


@dataclass
class FileDraft:
    """One ``files:`` entry."""

    table: TableProfile
    profile: Profile
    role: str = "patients"
    columns: list[ColumnDraft] = field(default_factory=list)
    wide: dict[str, str] = field(default_factory=dict)
    wide_extract: str | None = None
    date_format: str = "%Y-%m-%d"
    date_note: str = ""
    constants: dict[str, object] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.profile.path.name

    @property
    def label(self) -> str:
        return self.name + (f" [{self.table.sheet}]" if self.table.sheet is not None else "")

    @property
    def todo_count(self) -> int:
        return len(self.todos) + sum(len(c.todos) for c in self.columns)


@dataclass
class Draft:
    """A drafted mapping: its YAML text and what the drafter decided, for the summary."""

    center: str
    text: str
    files: list[FileDraft]
    skipped: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def todo_count(self) -> int:
        return sum(f.todo_count for f in self.files)


def _targets_of(role: str) -> set[str]:
    return {f"{t}.{c}" for t in ROLE_TABLES[role] for c in columns_of(t)
            if c not in ("center_id", "patient_key")}


def _required(role: str) -> list[str]:
    out = []
    for table in sorted(ROLE_TABLES[role], key=list(TABLES).index):
        for column, col in TABLES[table].to_schema().columns.items():
            if column not in ("center_id", "patient_key") and not col.nullable:
                out.append(f"{table}.{column}")
    return out


def _mrn_rank(column) -> tuple:
    words = IDENTIFIER_HEADERS["mrn"]
    position = next((i for i, w in enumerate(words) if header_has(column.name, w)), len(words))
    distinct = column.distinct / column.non_null if column.non_null else 0
    return (position, -distinct)


def _wide_term(column) -> str | None:
    """The adverse-event code a patients-file column is named after, when it holds grades."""
    term = translate(pd.Series([column.name]), "ae_term").iloc[0]
    if pd.isna(term) or column.identifier:
        return None
    grades = all(re.fullmatch(r"\D{0,4}[0-5]\D{0,2}", v) for v in column.counts)
    return str(term) if grades else None


def _guess_role(table: TableProfile) -> tuple[str, str]:
    """``('patients'|'adverse_events', why)`` from the canonical columns the headers match."""
    hits = Counter()
    for column in table.columns:
        if column.identifier:
            continue
        for _, target, _ in match_header(column.name)[:1]:
            hits["adverse_events" if target.startswith("adverse_event.") else "patients"] += 1
        if _wide_term(column):
            hits["patients"] += 1
    role = "adverse_events" if hits["adverse_events"] > hits["patients"] else "patients"
    other = "patients" if role == "adverse_events" else "adverse_events"
    why = (f"{hits['patients']} column(s) match patient/treatment/outcome columns, "
           f"{hits['adverse_events']} adverse-event columns")
    return role, why


def _shown(values: dict[str, int], limit: int = 12) -> str:
    items = [f"{_one_line(v)!r} x{n}" for v, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f", ... and {more} more" if more > 0 else "")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", str(text))


def _plan_file(file: FileDraft, key_header: str | None, start_mapped: bool) -> None:
    """Decide every column of one file (the draft's guesses and TODOs)."""
    table = file.table
    role, why = _guess_role(table)
    file.role = role
    file.notes.append(why)
    targets = _targets_of(role) | ({SPLIT_REGIMEN} if role == "patients" else set())

    # 1. identifiers: one pseudonymised record number, every other identifier dropped
    ids = table.identifiers
    same = [c for c in table.columns if key_header is not None and c.name == key_header]
    mrns = sorted((c for c in ids if c.identifier == "mrn"), key=_mrn_rank)
    key = same[0] if same else (mrns[0] if mrns else None)
    decided: dict[str, ColumnDraft] = {}
    for column in ids:
        if key is not None and column.name == key.name:
            continue
        decided[column.name] = ColumnDraft(
            column.name, {"identifier": "drop"},
            note=f"looks like {IDENTIFIER_LABELS[column.identifier]}: dropped unread")
    if key is not None:
        why_key = ("links to the patients file" if same
                   else f"looks like {IDENTIFIER_LABELS.get(key.identifier or 'mrn')}")
        decided[key.name] = ColumnDraft(key.name, {"identifier": "pseudonymise"},
                                        note=f"{why_key}: pseudonymised, never stored")

    # 2. wide adverse events (one grade column per event) in a patients file
    if role == "patients":
        for column in table.columns:
            if column.name in decided:
                continue
            term = _wide_term(column)
            if term:
                file.wide[column.name] = term
        if file.wide:
            cells = {v for c in file.wide for v in table.column(c).counts}
            if any(not re.fullmatch(r"[0-5]", v) for v in cells):
                file.wide_extract = r"([0-5])"

    # 3. canonical columns by header, then by values, each column and target used once
    free = [c for c in table.columns if c.name not in decided and c.name not in file.wide]
    candidates = []
    for column in free:
        for score, target, synonym in match_header(column.name, targets):
            candidates.append((score, target, column.name, f"header ~ '{synonym}'"))
    for column in free:
        if any(c[2] == column.name for c in candidates):
            continue
        found = best_vocabulary(column.counts)
        if found:
            vocabulary, share = found
            target = next(t for t, v in TARGET_VOCAB.items() if v == vocabulary)
            if target in targets:
                candidates.append((0.7 * share, target, column.name,
                                   f"{share:.0%} of its values are in vocabulary '{vocabulary}'"))
    chosen: dict[str, tuple[str, float, str]] = {}
    used: set[str] = set()
    for score, target, source, how in sorted(candidates, key=lambda c: -c[0]):
        if source in chosen or target in used:
            continue
        chosen[source] = (target, score, how)
        used.add(target)

    # 4. the file's default date format: the most common one among its date columns
    formats = Counter()
    for source, (target, _, _) in chosen.items():
        if target != SPLIT_REGIMEN and _target_type(target) == "date":
            found = [f for f in table.column(source).date_formats if f != EXCEL_SERIAL]
            if found:
                formats[found[0]] += 1
    if formats:
        file.date_format = formats.most_common(1)[0][0]
        users = [s for s, (t, _, _) in chosen.items() if t != SPLIT_REGIMEN and _target_type(t) == "date"
                 and file.date_format in table.column(s).date_formats]
        file.date_note = f"parses every value of {', '.join(users)}"

    for column in table.columns:
        if column.name in decided:
            file.columns.append(decided[column.name])
        elif column.name in file.wide:
            continue
        elif column.name in chosen:
            target, score, how = chosen[column.name]
            file.columns.append(_map_column(column, target, score, how, file, start_mapped))
        else:
            hint = f"{column.distinct} distinct value(s)" if column.non_null else "empty in this export"
            if column.hidden:
                hint += f"; {column.hidden}"
            file.columns.append(ColumnDraft(column.name, "drop", todos=[
                f"map or confirm drop (no canonical column matched; {hint})"]))

    # several agents in one cell: the file's other agent columns use the same separator
    multi = [c for c in file.columns if c.target in MULTI_VALUED and isinstance(c.spec, dict)]
    seps = {c.spec["separator"] for c in multi if "separator" in c.spec}
    if len(seps) == 1:
        for c in multi:
            c.spec.setdefault("separator", next(iter(seps)))

    if key is None:
        first = file.columns[0]
        file.columns[0] = ColumnDraft(first.source, {"identifier": "pseudonymise"}, todos=[
            "no column looks like the patient's record number; mark the column that identifies "
            "the patient (the same one in every file) with `identifier: pseudonymise`"])

    # 5. what the canonical tables need and nobody fills
    if role == "patients" and "treatment.course_no" not in used:
        file.constants["treatment.course_no"] = 1
        used.add("treatment.course_no")
    if role == "patients" and "treatment.pd1_agent" not in used and SPLIT_REGIMEN in used:
        used.add("treatment.pd1_agent")
    missing = [t for t in _required(role) if t not in used]
    if missing:
        file.todos.append(f"no column found for required canonical column(s) {', '.join(missing)}: "
                          "map the export's column, or add `constants:` if one value holds for all rows")


def _target_type(target: str) -> str:
    table, column = target.split(".")
    return _default_type(table, column)


def _map_column(column, target: str, score: float, how: str, file: FileDraft,
                start_mapped: bool) -> ColumnDraft:
    """The entry for a column mapped to ``target``, with the transforms its values need."""
    note = how if score >= CONFIDENT else f"{how}: check"
    todos: list[str] = []
    counts = column.counts
    if target == SPLIT_REGIMEN:
        sep = guess_separator(counts, "agent") or "+"
        spec: dict = {SPLIT_REGIMEN: {"separator": sep}}
        _, unknown = vocabulary_coverage(counts, "agent", sep)
        if unknown:
            todos.append(_unknown_todo(unknown, "agent", target))
        return ColumnDraft(column.name, spec,
                           note=note, todos=todos, target=target)
    spec = {"to": target}
    kind = _target_type(target)
    vocabulary = TARGET_VOCAB.get(target) or ("boolean" if kind == "boolean" else None)
    if column.type == "empty":
        note += "; empty in this export"
    if vocabulary:
        if vocabulary != "boolean":
            spec["vocab"] = vocabulary
        sep = guess_separator(counts, vocabulary) if target in MULTI_VALUED else None
        if sep:
            spec["separator"] = sep
        _, unknown = vocabulary_coverage(counts, vocabulary, sep)
        if unknown:
            todos.append(_unknown_todo(unknown, vocabulary, target))
    elif kind in ("integer", "number"):
        numeric = [v for v in counts if re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", v)]
        if len(numeric) < len(counts):
            if all(re.fullmatch(r"\D*?(\d+)\D*", v) for v in counts):
                spec["extract"] = r"(\d+)"
                example = next(v for v in counts if v not in numeric)
                note += f"; values like {example!r}: keep the number"
            else:
                bad = {v: n for v, n in counts.items() if v not in numeric}
                todos.append(f"values that are not numbers: {_shown(bad)}; add `extract:` or fix the export")
        if column.decimal == ",":
            spec["decimal"] = ","
    elif kind == "date":
        formats = column.date_formats
        if column.type == "empty":
            pass
        elif EXCEL_SERIAL in formats:
            spec["date_format"] = EXCEL_SERIAL
            note += "; Excel day numbers (44270 = 2021-03-15)"
        elif formats and file.date_format in formats:
            if len(formats) > 1:
                todos.append(f"ambiguous dates: each of {', '.join(formats)} reads every value; "
                             "check which one the hospital uses")
        elif formats:
            spec["date_format"] = formats[0]
            if len(formats) > 1:
                todos.append(f"ambiguous dates: each of {', '.join(formats)} reads every value; "
                             "check which one the hospital uses")
        elif column.type == "integer" and counts and max(int(v) for v in counts) <= MAX_OFFSET \
                and target != "treatment.start_date" and start_mapped:
            spec["days_after"] = "treatment.start_date"
            spec["unit"] = "days"
            todos.append("whole numbers, read as days after the start of therapy: confirm the unit "
                         "(days, weeks, months, years) with the hospital")
        else:
            todos.append("no date format reads every value of this column; set `date_format:` "
                         "(strptime, e.g. \"%d/%m/%Y\") or fix the export")
    return ColumnDraft(column.name, spec, note=note, todos=todos, target=target)


#: Agent columns list only the codes of their class in a TODO.
AGENT_CLASS = {"treatment.pd1_agent": "pd1", "treatment.antiangiogenic_agents": "antiangiogenic",
               "treatment.cytotoxic_agents": "cytotoxic"}


def _unknown_todo(unknown: dict[str, int], vocabulary: str, target: str | None = None) -> str:
    """A TODO listing values the vocabulary does not know, with suggestions where close."""
    suggestions = {v: suggest_code(v, vocabulary) for v in unknown}
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
            + f"), or add the spellings to mappings/vocab/{vocabulary}.yaml")


# -- writing YAML ----------------------------------------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_\u0080-\U0010ffff][\w\u0080-\U0010ffff .\-()]*")


def _scalar(text: str) -> str:
    """A YAML scalar: plain when that reads back as the same text, else double-quoted."""
    text = str(text)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and not re.search(r"[\u2028\u2029\x85]", text):
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _flow_scalar(text: str) -> str:
    """A scalar inside ``{...}``: double-quoted unless plain letters and digits."""
    text = str(text)
    if re.fullmatch(r"[A-Za-z\u0080-\U0010ffff][\w\u0080-\U0010ffff.\- ]*", text) \
            and not text.endswith(" ") \
            and yaml.safe_load(f"k: {text}") == {"k": text}:
        return text
    return json.dumps(text, ensure_ascii=False)


def _regex(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def _flow(spec: dict | str) -> str:
    if isinstance(spec, str):
        return spec
    parts = []
    for key, value in spec.items():
        if key == "extract":
            shown = _regex(value)
        elif key == SPLIT_REGIMEN:
            shown = "{separator: " + json.dumps(value["separator"], ensure_ascii=False) + "}"
        elif key in ("date_format", "separator", "decimal"):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = _flow_scalar(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def _display_width(text: str) -> int:
    """Columns a line takes in a terminal or editor (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _comment_lines(text: str, indent: str, width: int = 96) -> list[str]:
    """A TODO as ``# TODO: ...`` comment lines of at most ``width`` characters."""
    import textwrap
    lines = textwrap.wrap(_one_line(text), width=width - len(indent) - 8, break_long_words=False,
                          break_on_hyphens=False)
    return [f"{indent}# TODO: {lines[0]}", *(f"{indent}#       {line}" for line in lines[1:])]


def describe(files: list[FileDraft]) -> str:
    """One line on the export's shape, for ``description:`` (edit it freely)."""
    parts = []
    for prof in {id(f.profile): f.profile for f in files}.values():
        if prof.format == "excel":
            parts.append(f"Excel workbook {prof.path.name} (sheets {', '.join(t.sheet for t in prof.tables)})")
        else:
            parts.append(f"{prof.encoding} CSV {prof.path.name} "
                         f"({profile_delimiter_name(prof.delimiter)}-separated)")
    return "; ".join(parts)


def profile_delimiter_name(delimiter: str | None) -> str:
    from harmonise.mappings.profile import DELIMITER_NAMES
    return DELIMITER_NAMES.get(delimiter or ",", repr(delimiter))


def render(draft_files: list[FileDraft], center: str, skipped: list[str]) -> str:
    sources = sorted({f.profile.path.name for f in draft_files})
    todo_total = sum(f.todo_count for f in draft_files)
    import textwrap
    intro = (f"DRAFT mapping of center {center}, written by `harmonise new-center` from "
             f"{', '.join(sources)}. Every line is a guess from the export's headers and values: "
             f"check each one, resolve each TODO ({todo_total} in this draft), then run "
             f"`harmonise check {center}` until it reports no problem. The language is described "
             "in docs/mapping-language.md; the walkthrough is docs/adding-a-center.md.")
    out = [f"# {line}" for line in textwrap.wrap(intro, width=92, break_on_hyphens=False)]
    for note in skipped:
        out.append(f"# TODO: {note}")
    out += [f"center: {center}", "mapping_version: 1",
            f"description: {_scalar(describe(draft_files))}", "files:"]
    for i, file in enumerate(draft_files):
        if i:
            out.append("")
        prof = file.profile
        out.append(f"  - role: {file.role}   # guessed: {file.notes[0]}")
        for todo in file.todos:
            out += _comment_lines(todo, "    ")
        out.append(f"    name: {_scalar(file.name)}")
        if prof.format == "excel":
            out.append("    format: excel")
            out.append(f"    sheet: {_scalar(file.table.sheet)}")
        else:
            out.append("    format: csv")
            out.append(f"    encoding: {prof.encoding}   # {_one_line(prof.encoding_note or '')}")
            out.append(f"    delimiter: {json.dumps(prof.delimiter)}")
        date_line = f"    date_format: {json.dumps(file.date_format)}"
        out.append(date_line + (f"   # {file.date_note}" if file.date_note else ""))
        out.append("    columns:")
        keys = [f"      {_scalar(c.source)}: {_flow(c.spec)}" for c in file.columns]
        width = min(max(_display_width(k) for k in keys) + 2, 78) if keys else 0
        for column, line in zip(file.columns, keys):
            for todo in column.todos:
                out += _comment_lines(todo, "      ")
            note = column.note
            pad = max(width - _display_width(line), 2)
            out.append(line + " " * pad + f"# {_one_line(note)}" if note else line)
        if file.wide:
            out.append("    adverse_events_wide:")
            out.append("      note: each cell holds the CTCAE grade of that event; empty = none   "
                       "# TODO: confirm with the hospital (worst grade?)")
            if file.wide_extract:
                out.append(f"      extract: {_regex(file.wide_extract)}")
            out.append("      columns:")
            for source, term in file.wide.items():
                out.append(f"        {_scalar(source)}: {term}")
        if file.constants:
            out.append("    constants:")
            for target, value in file.constants.items():
                out.append(f"      {target}: {value}   # the export has no such column: one value for every row")
    return "\n".join(out) + "\n"


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
    for file in files:
        _plan_file(file, key_header, start_mapped)
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


def write_draft(center_id: str, export_paths: list[Path | str], *, mappings_dir: Path = MAPPINGS_DIR,
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
