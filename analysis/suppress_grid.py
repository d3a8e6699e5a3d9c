"""Small-cell suppression of a set of counts linked by sums: which cells a shareable report
must withhold so that no count below the threshold can be read or computed back.

A :class:`Grid` holds counts (``cell``), the sums a reader can form from what is shown
(``total``: a total equals the sum of its parts; ``same``: two cells show one count) and
orderings (``at_most``: a cumulative count never decreases). :meth:`Grid.solve`:

1. **Primary suppression**: every count ``0 < n < threshold`` (OHDSI's minCellCount rule;
   zeros stay, they disclose nobody), and every cell the caller withholds (``withhold``).
2. **Complementary suppression**, repeated until nothing changes: a sum with exactly one
   withheld cell gives it back, so one more of its cells is withheld (the smallest
   positive part, else the total); then an **audit**: for every withheld cell, the least
   and greatest value it can take given everything shown (a linear programme over its
   linked cells: the sums, the orderings, withheld small counts in ``1..threshold-1``,
   other withheld cells ``>= 0``); a cell whose range holds one whole number other than 0 is
   recovered, so another cell of one of its sums is withheld (a withheld zero that can be
   computed back discloses nobody, as a zero shown does not).

Marks: ``<k`` for a small count, ``[c]`` for a cell withheld to protect one.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable

import numpy as np

COMPLEMENT = "[c]"


def small_mark(threshold: int) -> str:
    return f"<{threshold}"


class Grid:
    """Counts and the sums linking them (see the module docstring)."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.values: dict[Hashable, int] = {}
        self.sums: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        self.orders: list[tuple[Hashable, Hashable]] = []
        self.forced: set[Hashable] = set()
        self.kept: set[Hashable] = set()

    def cell(self, key: Hashable, value) -> Hashable:
        """Add a count (the same key twice must hold the same count)."""
        value = int(round(float(value)))
        if key in self.values and self.values[key] != value:
            raise ValueError(f"cell {key!r} holds {self.values[key]} and {value}")
        self.values[key] = value
        return key

    def total(self, total: Hashable, parts) -> bool:
        """``total = sum(parts)`` when it holds (it is then something a reader can use)."""
        parts = tuple(parts)
        if not parts or sum(self.values[p] for p in parts) != self.values[total]:
            return False
        self.sums.append((total, parts))
        return True

    def same(self, a: Hashable, b: Hashable) -> bool:
        """Two cells that show one count."""
        return self.total(a, (b,))

    def at_most(self, a: Hashable, b: Hashable) -> None:
        """``a <= b`` (a cumulative count, numbers at risk over time)."""
        if a in self.values and b in self.values and self.values[a] <= self.values[b]:
            self.orders.append((a, b))

    def withhold(self, key: Hashable) -> None:
        """Withhold a cell whatever its count (e.g. every number of a group below the threshold)."""
        if key in self.values:
            self.forced.add(key)

    def keep(self, key: Hashable) -> None:
        """Withhold this cell to protect another only when no other cell can be (the study's
        headline counts: all patients, patients analysed, events of all patients)."""
        self.kept.add(key)

    def small(self, key: Hashable) -> bool:
        return 0 < self.values[key] < self.threshold

    # -- solving -----------------------------------------------------------------------------

    def solve(self) -> dict[Hashable, str]:
        """``{withheld cell: its mark}`` (module docstring)."""
        hidden = {k for k in self.values if self.small(k)} | set(self.forced)
        by_cell = defaultdict(list)
        for i, (total, parts) in enumerate(self.sums):
            for key in (total, *parts):
                by_cell[key].append(i)
        audit = Audit(self)
        self.degree = {c: len(refs) for c, refs in audit.touching.items()}
        while True:
            changed = self._close(hidden)
            for key in self._disclosing(audit.recovered(hidden)):   # then audited again
                changed |= self._widen(key, hidden, by_cell)
            if not changed:
                break
        left = self._disclosing(audit.recovered(hidden))
        if left:
            raise RuntimeError(f"small-cell suppression left {len(left)} cells computable, "
                               f"e.g. {left[0]!r}")
        mark = small_mark(self.threshold)
        return {k: mark if self.small(k) else COMPLEMENT for k in hidden}

    def _disclosing(self, recovered) -> list:
        """Recovered cells that give a count back: a withheld zero that can be computed back
        discloses nobody (zeros are shown in the first place)."""
        return [k for k in recovered if self.values[k] != 0]

    def _pick(self, cells, hidden) -> Hashable | None:
        total, *parts = cells
        visible = [p for p in parts if p not in hidden]
        positive = [p for p in visible if self.values[p] > 0]
        last = [total] if total not in hidden else []
        def cost(p):                 # the least linked cell, then the smallest count
            return (self.degree.get(p, 0), self.values[p], repr(p))
        for group in (positive, visible, last):
            free = [p for p in group if p not in self.kept]
            if free:
                return min(free, key=cost)
        for group in (positive, visible, last):
            if group:
                return min(group, key=cost)
        return None

    def _close(self, hidden: set) -> bool:
        """Withhold one more cell of every sum that has exactly one withheld cell."""
        changed, again = False, True
        while again:
            again = False
            for total, parts in self.sums:
                cells = (total, *parts)
                if sum(c in hidden for c in cells) == 1:
                    pick = self._pick(cells, hidden)
                    if pick is not None:
                        hidden.add(pick)
                        changed = again = True
        return changed

    def _widen(self, key, hidden: set, by_cell) -> bool:
        for i in sorted(by_cell[key], key=lambda i: sum(c not in hidden for c in
                                                        (self.sums[i][0], *self.sums[i][1]))):
            total, parts = self.sums[i]
            pick = self._pick((total, *parts), hidden)
            if pick is not None:
                hidden.add(pick)
                return True
        for a, b in self.orders:                      # fixed by an ordering alone
            if key in (a, b) and (b if key == a else a) not in hidden:
                hidden.add(b if key == a else a)
                return True
        return False



class Audit:
    """Which withheld cells of a :class:`Grid` the shown cells fix (module docstring, step 2).

    The withheld cells fall into groups linked by sums and orderings; each group is one
    linear programme. A few random objectives give points of its feasible set; a cell that
    differs between two points is not fixed; the others are tested by their least and
    greatest value. A group's answer is kept while its withheld cells stay the same.
    """

    def __init__(self, grid: Grid):
        self.grid = grid
        self.refs = [("sum", (t, *p)) for t, p in grid.sums] + \
                    [("order", (a, b)) for a, b in grid.orders]
        self.touching = defaultdict(list)
        for i, (_, cells) in enumerate(self.refs):
            for c in cells:
                self.touching[c].append(i)
        self.cache: dict[frozenset, tuple] = {}

    def groups(self, hidden: set) -> list[tuple[frozenset, set]]:
        """(withheld cells, indexes of the sums and orderings touching them) per group."""
        seen, out = set(), []
        for start in sorted(hidden, key=repr):
            if start in seen:
                continue
            group, refs, frontier = {start}, set(), [start]
            while frontier:
                c = frontier.pop()
                for i in self.touching[c]:
                    if i in refs:
                        continue
                    refs.add(i)
                    for other in self.refs[i][1]:
                        if other in hidden and other not in group:
                            group.add(other)
                            frontier.append(other)
            seen |= group
            out.append((frozenset(group), refs))
        return out

    def recovered(self, hidden: set, only=None) -> list:
        found = []
        for group, refs in self.groups(hidden if only is None else hidden):
            if only is not None and only not in group:
                continue
            if group not in self.cache:
                self.cache[group] = tuple(self._fixed(group, refs))

            found += [c for c in self.cache[group] if only is None or c == only]
        return found

    def _fixed(self, group: frozenset, refs: set) -> list:
        g = self.grid
        cells = sorted(group, key=repr)
        index = {c: j for j, c in enumerate(cells)}
        rows = {"sum": ([], [], [], []), "order": ([], [], [], [])}   # row, column, value, bound
        for i in sorted(refs):
            kind, members = self.refs[i]
            r, col, val, bound = rows["sum" if kind == "sum" else "order"]
            signs = ((members[0], -1.0), *((p, 1.0) for p in members[1:])) if kind == "sum" \
                else ((members[0], 1.0), (members[1], -1.0))
            const = 0.0
            for c, sign in signs:
                if c in index:
                    r.append(len(bound))
                    col.append(index[c])
                    val.append(sign)
                else:
                    const -= sign * g.values[c]
            bound.append(const)

        from scipy.optimize import linprog   # here: only a shareable report solves these
        from scipy.sparse import csr_array

        def matrix(kind):  # sparse: a group links hundreds of cells, each sum a handful
            r, col, val, bound = rows[kind]
            if not bound:
                return None, None
            return csr_array((val, (r, col)), shape=(len(bound), len(cells))), np.array(bound)
        (a_eq, b_eq), (a_ub, b_ub) = matrix("sum"), matrix("order")
        most = 10 * max(g.values.values())
        lp = {"A_ub": a_ub, "b_ub": b_ub, "A_eq": a_eq, "b_eq": b_eq,
              "bounds": [(1, g.threshold - 1) if g.small(c) else (0, most) for c in cells],
              "method": "highs"}
        rng = np.random.default_rng(0)
        low = np.full(len(cells), np.inf)
        high = np.full(len(cells), -np.inf)

        def point(cost) -> float:
            done = linprog(cost, **lp)
            if done.status != 0:
                return math.nan
            np.minimum(low, done.x, out=low)
            np.maximum(high, done.x, out=high)
            return float(done.fun)

        for _ in range(4):
            cost = rng.normal(size=len(cells))
            point(cost)
            point(-cost)
        floor = np.array([b[0] for b in lp["bounds"]], dtype=float)
        ceiling = np.array([b[1] for b in lp["bounds"]], dtype=float)

        def two_counts(j) -> bool:   # the points seen span two whole numbers: j is not fixed
            return math.ceil(low[j] - 1e-6) < math.floor(high[j] + 1e-6)

        fixed = []
        for c in cells:
            j = index[c]
            for sign, side, edge in ((1.0, low, floor), (-1.0, high, ceiling)):
                if two_counts(j):
                    break
                if abs(side[j] - edge[j]) < 1e-9:         # already seen at its bound: the LP is moot
                    continue
                cost = np.zeros(len(cells))
                cost[j] = sign
                point(cost)
            if not two_counts(j):
                fixed.append(c)
        return fixed
