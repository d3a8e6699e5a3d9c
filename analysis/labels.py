"""Words for codes: one place that turns a column's code into the label a clinician reads.

Labels come from the plan (derived groupings carry a ``label`` and a ``short`` label beside
each code; endpoints and populations their own) and from the warehouse's ``ref_code`` code
lists (``sex``, ``histology``, ...). A code with neither is shown as it is. ``<=``/``>=``
are written ``≤``/``≥`` (:func:`analysis.present.pretty`).
"""
from __future__ import annotations

from dataclasses import dataclass

from harmonise.analysis import present
from harmonise.analysis.plan import Comparison, Plan


@dataclass(frozen=True)
class Labels:
    """The plan and the code lists of one warehouse: ``ref`` is ``{vocabulary: {code: label}}``."""

    plan: Plan
    ref: dict[str, dict[str, str]]

    def endpoint(self, name: str) -> str:
        """``Progression-free survival``."""
        return self.plan.endpoint(name).label

    def endpoint_short(self, name: str) -> str:
        """``PFS``."""
        return self.plan.endpoint(name).short

    def code(self, column: str, code) -> str:
        """Label in words of ``code`` of ``column`` (``Alveolar soft part sarcoma (ASPS)``)."""
        derived = self.plan.derived_column(column)
        if derived is not None:
            level = derived.level(code)
            return present.pretty(level.label if level else str(code))
        if column == "histology":
            return present.histology_label(str(code), self.ref.get("histology", {}))
        return present.pretty(self.ref.get(column, {}).get(str(code), str(code)))

    def short(self, column: str, code) -> str:
        """Compact label (legends, the comparisons' ``group`` column); as written in the plan."""
        derived = self.plan.derived_column(column)
        level = derived.level(code) if derived is not None else None
        if level is not None:
            return level.short
        return self.ref.get(column, {}).get(str(code), str(code))

    def codes(self, column: str) -> list:
        """The codes of ``column`` in display order: the plan's levels, else the code list."""
        derived = self.plan.derived_column(column)
        if derived is not None:
            return [lv.code for lv in derived.levels]
        return list(self.ref.get(column, {}))

    def groups(self, comparison: Comparison) -> dict[str, str]:
        """``{str(code): label in words}`` of one comparison's groups."""
        return {str(v): self.code(comparison.by, v) for v in comparison.groups}

    def legend(self, comparison: Comparison, code) -> str:
        """A figure legend's label: the words, led by the code where the plan asks."""
        derived = self.plan.derived_column(comparison.by)
        words = self.code(comparison.by, code)
        return f"{code}: {words}" if derived is not None and derived.codes_in_legend else words

    def comparison(self, comparison: Comparison) -> str:
        """The comparison's label with ``≤``/``≥``."""
        return present.pretty(comparison.label)

    def population(self, comparison: Comparison) -> str:
        """The comparison's population in words (``non-ASPS``)."""
        return comparison.population.label
