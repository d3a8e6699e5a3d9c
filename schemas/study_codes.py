"""The codes a study adds to the built-in code lists: its project's ``codes.yaml``.

One file, one place, the same shape as ``schemas/codes.yaml``::

    # codes.yaml of a project: codes this study adds to harmonise's code lists
    agent:
      atezolizumab: {label: Atezolizumab, class: immunotherapy, target: PD-L1}
      cabozantinib: {label: Cabozantinib, class: antiangiogenic}
    histology:
      DSRCT: {label: Desmoplastic small round cell tumour, group: small round cell sarcoma}
    ae_term:
      pneumonitis: {label: Pneumonitis, ctcae: [Pneumonitis]}

A study code is checked like a built-in one once added (the contract accepts it, spellings
in ``vocab/`` and ``values:`` may point to it, the data dictionary lists it). What a study may
add is declared in ``EXTENSIBLE``: the vocabularies it may grow and each one's attributes; a
list whose codes the analyses read one by one (sex, best response, discontinuation reason) is
closed. A study adds codes, never changes one: a code the built-in list already has is refused.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from harmonise.schemas.codes import CodeBook, builtin, merged

STUDY_CODES_FILE = "codes.yaml"
CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


def _agent_classes() -> list[str]:
    return sorted({a["class"] for a in builtin().entries["agent"].values()})


#: ``{vocabulary: {attribute: required?}}``: the lists a study may grow and what a code says.
EXTENSIBLE: dict[str, dict[str, bool]] = {
    "agent": {"label": True, "class": True, "target": False, "note": False},
    "histology": {"label": True, "group": False, "note": False},
    "ae_term": {"label": True, "ctcae": False, "note": False},
    "primary_site": {"label": True, "note": False},
    "local_treatment": {"label": True, "note": False},
}
#: Why a list is closed (the words of the refusal).
CLOSED = {
    "sex": "the analyses read its two codes",
    "best_response": "RECIST 1.1 has exactly these responses, in this order",
    "discontinuation_reason": "the end-of-treatment rule reads these codes",
}


class StudyCodesError(ValueError):
    """The project's ``codes.yaml`` is not usable; the message names the file, line and fix."""

    def __init__(self, path: Path, message: str, line: int | None = None, hint: str = ""):
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {message}. {hint} The fix belongs in the project's "
                         f"{STUDY_CODES_FILE}.".replace("  ", " "))
        self.path, self.line, self.problem, self.hint = path, line, message, hint


def study_book(codes_file: Path | None) -> CodeBook:
    """The built-in code lists with the study's ``codes_file`` merged in (built-in alone when
    there is no such file); ``StudyCodesError`` on any mistake in it."""
    if codes_file is None or not Path(codes_file).is_file():
        return builtin()
    path = Path(codes_file)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise StudyCodesError(path, "the file is not UTF-8", hint="Save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise StudyCodesError(path, f"not valid YAML ({getattr(exc, 'problem', exc)})",
                              mark.line + 1 if mark else None,
                              "Check the indentation and quoting around that line.") from None
    if data is None:
        return builtin()
    lines = _lines(node)
    if not isinstance(data, dict):
        raise StudyCodesError(path, "the file must map code lists to codes", 1,
                              f"E.g. add {snippet('agent', 'atezolizumab', **{'class': 'immunotherapy'})}.")
    additions: dict[str, dict[str, dict]] = {}
    for vocabulary, entries in data.items():
        additions[str(vocabulary)] = _vocabulary(path, str(vocabulary), entries, lines)
    return merged(additions, path, raw, {k: v for k, v in lines.items() if len(k) == 2})


def _vocabulary(path: Path, vocabulary: str, entries, lines: dict) -> dict[str, dict]:
    line = lines.get((vocabulary,))
    if vocabulary in CLOSED:
        raise StudyCodesError(path, f"the code list '{vocabulary}' is closed ({CLOSED[vocabulary]})",
                              line, "Map the export's values to its codes with `values:` instead.")
    if vocabulary not in EXTENSIBLE:
        raise StudyCodesError(path, f"'{vocabulary}' is not a code list a study can add to", line,
                              f"Code lists a study can add to: {', '.join(EXTENSIBLE)}.")
    if not isinstance(entries, dict) or not entries:
        raise StudyCodesError(path, f"'{vocabulary}:' must list codes with their attributes", line,
                              f"E.g. add {snippet(vocabulary, 'new_code')}.")
    out = {}
    for code, attrs in entries.items():
        out[str(code)] = _code(path, vocabulary, code, attrs, lines.get((vocabulary, str(code)), line))
    return out


def _code(path: Path, vocabulary: str, code, attrs, line: int | None) -> dict:
    allowed = EXTENSIBLE[vocabulary]
    example = snippet(vocabulary, str(code))
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise StudyCodesError(path, f"'{code}' is not a usable code", line,
                              "A code is a word of letters, digits and _ starting with a letter "
                              "(atezolizumab, DSRCT); quote nothing, spell it as the warehouse will hold it.")
    if builtin().has(vocabulary, code):
        raise StudyCodesError(path, f"'{code}' is already a built-in code of '{vocabulary}'", line,
                              "Remove it here; to add a spelling of it, use the project's "
                              f"vocab/{vocabulary}.yaml.")
    if not isinstance(attrs, dict):
        raise StudyCodesError(path, f"code '{code}' needs its attributes", line, f"Write it {example}.")
    for name in attrs:
        if name not in allowed:
            raise StudyCodesError(path, f"'{name}' is not an attribute of a {vocabulary} code", line,
                                  f"Attributes: {', '.join(allowed)}; e.g. {example}.")
    for name, required in allowed.items():
        if required and attrs.get(name) in (None, ""):
            raise StudyCodesError(path, f"code '{code}' has no `{name}:`", line, f"Write it {example}.")
    for name, value in attrs.items():
        text_list = name == "ctcae"
        if text_list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise StudyCodesError(path, f"`{name}:` of '{code}' must list CTCAE terms", line,
                                  f"E.g. `{name}: [Pneumonitis]`.")
        if not text_list and not isinstance(value, str):
            raise StudyCodesError(path, f"`{name}: {value}` of '{code}' must be text", line,
                                  f'Quote it: `{name}: "{value}"`.')
    if vocabulary == "agent" and attrs["class"] not in _agent_classes():
        raise StudyCodesError(path, f"`class: {attrs['class']}` of '{code}' is not an agent class", line,
                              f"Classes: {', '.join(_agent_classes())} (a PD-1 or PD-L1 inhibitor "
                              "is `immunotherapy`, with `target: PD-L1`).")
    return dict(attrs)


def snippet(vocabulary: str, code: str, **attrs: str) -> str:
    """The YAML a study writes to add ``code`` (``attrs`` known, the rest as placeholders)."""
    fields = {"label": code[:1].upper() + code[1:].replace("_", " ")}
    for name, required in EXTENSIBLE.get(vocabulary, {"label": True}).items():
        if name in attrs:
            fields[name] = attrs[name]
        elif required and name not in fields:
            fields[name] = "<" + " | ".join(_agent_classes()) + ">" if name == "class" else f"<{name}>"
    body = ", ".join(f"{k}: {v}" for k, v in fields.items())
    return f"under `{vocabulary}:` in the project's {STUDY_CODES_FILE}: `{code}: {{{body}}}`"


def _lines(node, prefix: tuple = ()) -> dict[tuple, int]:
    out = {}
    if isinstance(node, yaml.MappingNode) and len(prefix) < 2:
        for key, value in node.value:
            here = (*prefix, key.value)
            out[here] = key.start_mark.line + 1
            out.update(_lines(value, here))
    return out
