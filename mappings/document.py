"""A mapping file as YAML with line numbers: parsed strictly, errors pointing at the line.

PyYAML's safe loader, refusing anchors, aliases, explicit tags and a key given twice; the
helpers every check of the mapping uses to report a mistake with its file, line and key,
and to say what would be valid ("did you mean ...?").
"""
from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

import pandas as pd
import yaml

from harmonise.mappings.errors import MappingError
from harmonise.schemas.codes import CodeBook, builtin
from harmonise.schemas.quarantine import FixIn

MAX_MAPPING_BYTES = 1_000_000


class _Refused(Exception):
    def __init__(self, problem: str, line: int, hint: str):
        super().__init__(problem)
        self.problem, self.line, self.hint = problem, line, hint


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses anchors, aliases and explicit tags as it composes."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("YAML anchors (&) and aliases (*) are not allowed in mapping files",
                           line, "Write each entry out in full.")
        tag = getattr(event, "tag", None)
        if tag:  # only explicit tags (!!python/object, !custom) set it
            raise _Refused(f"YAML tags such as {tag} are not allowed in mapping files", line,
                           "Remove the tag; values are plain text, numbers or lists.")
        return super().compose_node(parent, index)



class MappingDocument:
    """Walks the parsed YAML, remembering line numbers for error messages."""

    def __init__(self, center: str, path: Path, raw: bytes, book: CodeBook | None = None):
        self.center, self.path = center, path
        #: the study's code lists, which `values:` and `adverse_events_wide:` must name codes of
        self.book = book or builtin()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        if len(raw) > MAX_MAPPING_BYTES:
            self.fail(f"the mapping file is {len(raw)} bytes; the limit is {MAX_MAPPING_BYTES}",
                      hint="A mapping file lists columns; it should be a few kilobytes.")
        try:
            text = raw.decode("utf-8-sig")
            self.node, self.data = self._parse(text)
        except UnicodeDecodeError:
            self.fail("the mapping file is not UTF-8", hint="Save the YAML file as UTF-8.")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.fail(f"this is not valid YAML: {getattr(exc, 'problem', exc)}",
                      line=mark.line + 1 if mark else None,
                      hint="Check indentation and quoting around the reported line.")
        if not isinstance(self.data, dict):
            self.fail("the mapping file must be a set of `key: value` entries",
                      hint="Start from an existing center's YAML file.")

    def _parse(self, text: str):
        """Parse the YAML once: the node tree (for line numbers) and the data built from it."""
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            self._refuse_duplicate_keys(node)
            return node, (loader.construct_document(node) if node is not None else None)
        except _Refused as refused:
            self.fail(refused.problem, line=refused.line, hint=refused.hint)
        finally:
            loader.dispose()

    def _refuse_duplicate_keys(self, node) -> None:
        """A key given twice in one block is an error (YAML would silently keep the last)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and name in seen:
                    self.fail(f"'{name}' is given twice in the same block: line {seen[name]} and "
                              f"line {line}", line=line, column=name,
                              hint="Keep one of the two entries. YAML would silently use the last "
                                   "one, e.g. send a column declared `identifier: drop` into the "
                                   "warehouse.")
                if name is not None:
                    seen[name] = line
                self._refuse_duplicate_keys(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._refuse_duplicate_keys(item)

    # -- error helpers -------------------------------------------------------------
    def fail(self, problem: str, *, line: int | None = None, column: str | None = None,
             hint: str | None = None, fix: tuple[FixIn, ...] | None = None):
        raise MappingError(self.center, problem, file=str(self.path), line=line,
                           column=column, hint=hint, fix=fix)

    def text(self, value, where: tuple, key: str, hint: str = "", numbers: bool = False) -> str:
        """A key whose value is one piece of text (a number too where ``numbers``)."""
        kinds = (str, int, float) if numbers else (str,)
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.fail(f"`{key}: {value}` must be {'text or a number' if numbers else 'text'}",
                      line=self.line(*where, key), hint=hint or f'Quote it: `{key}: "..."`.')
        return str(value)

    def flag(self, value, where: tuple, key: str) -> bool:
        """A key whose value is true or false."""
        if not isinstance(value, bool):
            self.fail(f"`{key}: {value}` must be true or false", line=self.line(*where, key),
                      hint=f"Write `{key}: true` or `{key}: false`.")
        return value

    def date_formats(self, value, where: tuple) -> tuple[str, ...]:
        """``date_format:``: one format or a list, each a usable strptime format (or excel_serial)."""
        if value is None:
            return ()
        formats = value if isinstance(value, list) else [value]
        for fmt in formats:
            self.text(fmt, where, "date_format", 'E.g. `date_format: "%d/%m/%Y"` or a list of formats.')
            if fmt != "excel_serial":
                try:
                    pd.to_datetime(pd.Series(["2021-01-01"]), format=fmt, errors="coerce")
                except ValueError as exc:
                    self.fail(f"`date_format: {fmt}` is not a date format ({exc})",
                              line=self.line(*where, "date_format"),
                              hint="Use strptime codes: %d day, %m month, %Y year (e.g. \"%d/%m/%Y\"), or "
                                   "excel_serial; `harmonise profile` shows the export's formats.")
        return tuple(str(f) for f in formats)

    def line(self, *path) -> int | None:
        node = getattr(self, "node", None)
        for step in path:
            if isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if k.value == step]
                if not found:
                    return node.start_mark.line + 1
                key, node = found[0]
                if step == path[-1]:
                    return key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                node = node.value[step]
            else:
                break
        return node.start_mark.line + 1 if node is not None else None

    def check_keys(self, given: dict, allowed: set[str], where: tuple, what: str) -> None:
        for key in given:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                maybe = f"Did you mean '{close[0]}'? " if close else ""
                self.fail(f"unknown key '{key}' in {what}", line=self.line(*where, key),
                          hint=f"{maybe}Valid keys: {', '.join(sorted(allowed))}.")

    def choose(self, value, allowed, where: tuple, key: str):
        if isinstance(value, (list, dict)):
            self.fail(f"`{key}:` must be one value, not a {'list' if isinstance(value, list) else 'set of keys'}",
                      line=self.line(*where, key),
                      hint=f"Valid values: {', '.join(sorted(map(str, allowed)))}.")
        if value not in allowed:
            close = difflib.get_close_matches(str(value), sorted(map(str, allowed)), n=1)
            maybe = f"Did you mean '{close[0]}'? " if close else ""
            shown = [str(v) if str(v).replace("_", "").isalnum() else f'"{v}"' for v in sorted(map(str, allowed))]
            self.fail(f"'{value}' is not a valid {key}", line=self.line(*where, key),
                      hint=f"{maybe}Valid values: {', '.join(shown)}.")
        return value
