"""Which points of a sweep sit on a loss floor, so a slope fit can leave them out.

A sweep trains members at several values of a resource knob (α, say), several seeds each. Where
more of the knob no longer lowers the loss (the optimiser's floor, not the network's
capacity), the points bend a log-log fit of loss against neurons flat. The rule, stated once
and used by every figure that fits a loss slope:

    Walk down the knob's values from the largest. A group (the members at one value) is on
    the floor when both (a) its mean log loss lies above the straight line (log loss against
    log knob) through every member at smaller values, by a one-sided t-test at ``level``
    (default 0.05) on the line's residual spread, and (b) its log losses are not lower than
    those of the next smaller value by a one-sided Welch t-test at ``level``: it has left the
    trend below it and stalled. The walk stops at the first group that is not on the floor.
    Groups need at least two finite positive losses each, and the line at least two smaller
    values and one residual degree of freedom; where the top group cannot be tested, nothing
    is flagged (``FloorTest.testable`` False says so).

The burden of proof is on the floor: a sweep that follows a power law to its largest value is
flagged at (a)'s level or less, however few its seeds and however noisy its losses. (An earlier
rule used (b) alone, which flags a clean law whenever a step's drop is within the noise: 86% of
clean sweeps at 2 seeds per α and a log spread of 0.3.) A bend to a shallower but significant
fall is not a floor, by (b).

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

RULE = ("walking down from the largest α, a group of seeds is on the loss floor while its mean log loss lies above "
        "the line through the smaller α (one-sided t, p < 0.05) and is not lower than the next smaller α's "
        "(one-sided Welch t, p ≥ 0.05); floor points are left out of the fit")
"""The rule in one sentence, for claim notes and plot legends."""


@dataclass(frozen=True)
class FloorTest:
    """``on_floor [M]``: the members flagged; ``values``: the knob values flagged (largest
    first); ``p``: per tested group, largest value first, the p-values of (a) "above the line
    below" and (b) "lower than the next smaller value"; ``testable``: whether the largest
    value's group could be tested at all."""

    on_floor: np.ndarray
    values: list
    p: list
    testable: bool

    def note(self) -> str:
        """What the figure's claim row says about the rule."""
        if not self.testable:
            return "loss-floor rule not applied (fewer than 2 seeds per α, or fewer than 2 α below the top)"
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
    testable = _testable(values, logs, 0)
    for i in range(len(values) - 1):
        if not _testable(values, logs, i):
            break
        below = np.log(np.repeat(values[i + 1:], [g.size for g in logs[i + 1:]]))
        p_above = _above_line_p(np.log(values[i]), logs[i], below, np.concatenate(logs[i + 1:]))
        p_lower = _lower_p(logs[i], logs[i + 1])
        ps.append([p_above, p_lower])
        if not (p_above < level and p_lower >= level):
            break
        flagged.append(float(values[i]))
    on = np.isin(knob, flagged) & ok
    return FloorTest(on, flagged, ps, bool(testable))


def _testable(values, logs, i: int) -> bool:
    """Whether group ``i`` can be tested: 2+ losses in it and in the next, and a line through
    the groups below with 2+ values and a residual degree of freedom."""
    below = logs[i + 1:]
    return (len(below) >= 2 and logs[i].size >= 2 and below[0].size >= 2
            and sum(g.size for g in below) >= 3)


def _above_line_p(x0: float, group: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """p-value of 'the mean of ``group`` lies above the least-squares line of ``y`` on ``x``
    at ``x0``' (one-sided t on the line's residual spread, n − 2 degrees of freedom)."""
    n = x.size
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (icpt + slope * x)
    s2 = float(resid @ resid) / (n - 2)
    sxx = float(((x - x.mean()) ** 2).sum())
    se = np.sqrt(s2 * (1 / group.size + 1 / n + (x0 - x.mean()) ** 2 / sxx))
    gap = float(group.mean() - (icpt + slope * x0))
    if se == 0:
        return 0.0 if gap > 0 else 1.0
    return float(stats.t.sf(gap / se, n - 2))


def _lower_p(hi: np.ndarray, lo: np.ndarray) -> float:
    """p-value of 'mean(hi) < mean(lo)' (one-sided Welch t); 0 or 1 where both groups are
    constant."""
    if hi.std() == 0 and lo.std() == 0:
        return 0.0 if hi.mean() < lo.mean() else 1.0
    return float(stats.ttest_ind(hi, lo, equal_var=False, alternative="less").pvalue)
