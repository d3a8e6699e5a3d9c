"""The suppression grid on its own: small counts linked by sums a reader can form.

Each grid is small enough that every whole-number solution can be listed by hand, so each test
states which counts a reader could compute back and checks the grid withholds enough."""
from __future__ import annotations

import itertools

from harmonise.analysis.suppress_grid import COMPLEMENT, Grid


def _readable(values: dict, sums, hidden: set, threshold: int) -> set:
    """Cells of ``hidden`` that take a single value in every whole-number assignment consistent
    with the shown cells and the sums (brute force; small counts in 1..threshold-1)."""
    cells = sorted(hidden)
    most = 2 * max(values.values()) + 1
    ranges = [range(1, threshold) if 0 < values[c] < threshold else range(0, most)
              for c in cells]
    seen = {c: set() for c in cells}
    for guess in itertools.product(*ranges):
        v = {**values, **dict(zip(cells, guess))}
        if all(v[t] == sum(v[p] for p in parts) for t, parts in sums):
            for c, x in zip(cells, guess):
                seen[c].add(x)
    return {c for c in cells if len(seen[c]) == 1}


def test_a_cell_whose_relaxed_range_holds_one_whole_number_is_protected():
    # t = 2x + y with x, y small (1..2): a reader's linear programme gives x in [1, 1.5], a range
    # half a unit wide that still holds only x = 1, and so y = 2. t must be withheld as well.
    values = {"t": 4, "x": 1, "y": 2}
    sums = [("t", ("x", "x", "y"))]
    g = Grid(threshold=3)
    for k, v in values.items():
        g.cell(k, v)
    for total, parts in sums:
        assert g.total(total, parts)
    withheld = g.solve()
    assert {"x", "y"} <= set(withheld)
    assert withheld.get("t") == COMPLEMENT
    assert _readable(values, sums, set(withheld), 3) == set()


def test_a_lone_small_count_in_a_sum_takes_a_second_cell_with_it():
    values = {"total": 30, "a": 2, "b": 12, "c": 16}
    sums = [("total", ("a", "b", "c"))]
    g = Grid(threshold=5)
    for k, v in values.items():
        g.cell(k, v)
    g.total("total", ("a", "b", "c"))
    withheld = g.solve()
    assert withheld["a"] == "<5"
    assert withheld.get("b") == COMPLEMENT      # the smallest positive part, not the total
    assert "total" not in withheld and "c" not in withheld
    assert _readable(values, sums, set(withheld), 5) == set()
