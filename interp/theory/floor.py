"""Which points of a sweep sit on a loss floor, so a slope fit can leave them out.

A sweep trains members at several values of a resource knob (α, say), several seeds each. Where
more of the knob no longer lowers the loss (the optimiser's floor, not the network's
capacity), the points bend a log-log fit of loss against neurons flat. The rule, stated once
and used by every figure that fits a loss slope:

    Walk down the knob's values from the largest. A group (the members at one value) is on
    the floor when its log losses are not lower than those of the next smaller value by a
    one-sided Welch t-test at ``level`` (default 0.05); the walk stops at the first group
    that is significantly lower. Groups need at least two finite positive losses each to be
    tested; where the top groups cannot be tested, nothing is flagged (``FloorTest.testable``
    False says so).

The rule never looks at the slope it protects: it compares losses at neighbouring knob values
only, so a sweep that follows a power law to its largest value keeps every point.

>>> import numpy as np
>>> alpha = np.repeat([1.0, 2, 4, 8, 16], 3)
>>> loss = 1 / alpha * np.exp(np.tile([-0.05, 0.0, 0.05], 5))
>>> loss[alpha == 16] = loss[alpha == 8]                     # no gain from 8 to 16: a floor
>>> test = loss_floor(alpha, loss)
>>> test.values, int(test.on_floor.sum())
([16.0], 3)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from models.validate import check, is_number

RULE = ("walking down from the largest α, a group of seeds is on the loss floor while its log losses are not "
        "lower than the next smaller α's (one-sided Welch t, p ≥ 0.05); floor points are left out of the fit")
"""The rule in one sentence, for claim notes and plot legends."""


@dataclass(frozen=True)
class FloorTest:
    """``on_floor [M]``: the members flagged; ``values``: the knob values flagged (largest
    first); ``p``: the p-value of each tested step, largest value first; ``testable``: whether
    the largest value's group could be tested at all (≥ 2 losses in it and in the next)."""

    on_floor: np.ndarray
    values: list
    p: list
    testable: bool

    def note(self) -> str:
        """What the figure's claim row says about the rule."""
        if not self.testable:
            return "loss-floor rule not applied (fewer than 2 seeds per α)"
        if not self.values:
            return "no α on a loss floor"
        return f"{int(self.on_floor.sum())} points on a loss floor left out (α = {', '.join(f'{v:g}' for v in self.values)})"


def loss_floor(knob, loss, level: float = 0.05) -> FloorTest:
    """The module's rule on a sweep: ``knob [M]`` (each member's α), ``loss [M]``.

    >>> loss_floor([1, 2, 4], [1.0, 0.5, 0.25]).testable          # one seed per α: no test
    False
    """
    knob, loss = np.asarray(knob, dtype=float).reshape(-1), np.asarray(loss, dtype=float).reshape(-1)
    check(knob.shape == loss.shape, "loss", f"shape {loss.shape}", f"one loss per member, shape {knob.shape}")
    check(is_number(level) and 0 < level < 1, "level", level, "a number in (0, 1)")
    ok = np.isfinite(loss) & (loss > 0) & np.isfinite(knob)
    values = np.unique(knob[ok])[::-1]                        # largest first
    logs = [np.log(loss[ok & (knob == v)]) for v in values]
    flagged, ps = [], []
    testable = len(values) >= 2 and logs[0].size >= 2 and logs[1].size >= 2
    for i in range(len(values) - 1):
        hi, lo = logs[i], logs[i + 1]
        if hi.size < 2 or lo.size < 2:
            break
        p = _lower_p(hi, lo)
        ps.append(p)
        if p < level:
            break
        flagged.append(float(values[i]))
    on = np.isin(knob, flagged) & ok
    return FloorTest(on, flagged, ps, bool(testable))


def _lower_p(hi: np.ndarray, lo: np.ndarray) -> float:
    """p-value of 'mean(hi) < mean(lo)' (one-sided Welch t); 0 or 1 where both groups are
    constant."""
    if hi.std() == 0 and lo.std() == 0:
        return 0.0 if hi.mean() < lo.mean() else 1.0
    return float(stats.ttest_ind(hi, lo, equal_var=False, alternative="less").pvalue)
