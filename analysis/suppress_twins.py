"""One set of patients counted in several places of the shareable report is one cell.

Table 1's column of a histology, the response table's row of that histology, a comparison's
group for each endpoint and the patients of a comparison's population (its groups added up)
count the same patients in different places: withholding the count in one place and
showing it in another gives it back. :func:`link` joins such counts in the grid
(``Grid.same``) before it is solved, so they are withheld together or shown together.

Which counts are one set is decided from the numbers, conservatively: every count of a
group's patients (the sizes) is joined with every other size that holds the same number.
Two different groups that happen to be of one size are then withheld together too: that
costs a cell, never a patient.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable


def is_size(key: Hashable) -> bool:
    """A count of a group's patients (a Table 1 column, a response row, a comparison group or
    population). All patients and patients analysed are linked to these by their own sums."""
    if not isinstance(key, tuple):
        return False
    return (key[:3] == ("t1", "patients", "n") or (key[0] == "resp" and key[-1] == "n")
            or (key[0] == "n" and len(key) == 4) or key[0] == "population")


def link(cells) -> None:
    """Join every size with the sizes that hold the same number (module docstring); a
    comparison's population (its groups' patients added up) is a size too."""
    g = cells.grid
    comparisons = cells.frames["comparisons"]
    for (name, endpoint), part in comparisons.groupby(["comparison", "endpoint"], sort=False):
        parts = [("n", name, endpoint, str(v)) for v in part["group_value"]]
        if all(p in g.values for p in parts):
            population = g.cell(("population", name, endpoint), sum(g.values[p] for p in parts))
            g.total(population, parts)
    by_count = defaultdict(list)
    for key in g.values:
        if is_size(key) and g.values[key] >= g.threshold:
            by_count[g.values[key]].append(key)
    for keys in by_count.values():
        for other in keys[1:]:
            g.same(keys[0], other)
