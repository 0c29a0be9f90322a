"""The resource model of neural scaling (SPEC A): subtasks compete for neurons.

Three hypotheses: a subtask's loss falls as a_i·n_i^-p in the neurons n_i it gets (p = 1 in
the paper); as the network widens every share grows by the same factor (homogeneous growth);
subtask losses add. This module tests the second on measured neuron counts, solves the
allocation that the first and third imply, and converts a loss-vs-neurons exponent into a
loss-vs-parameters exponent (the paper's comparison with Chinchilla's N_p^-0.34).

>>> alloc = optimal_allocation([0.75, 0.25], total=100)
>>> round(float(alloc.n[0] / alloc.n[1]), 4)   # sqrt(0.75 / 0.25), App. C
1.7321
>>> chinchilla_conversion(-1.0, depth="proportional").params_exponent
-0.3333333333333333
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from models.validate import check

from .fits import PowerLawFit, _short, fit_power_law

__all__ = [
    "GrowthTest", "homogeneous_growth",
    "OptimalAllocation", "optimal_allocation", "composite_loss", "exponent_from_ratio",
    "ParamsScaling", "chinchilla_conversion", "CHINCHILLA_EXPONENT",
]

#: Chinchilla's fitted loss-vs-parameters exponent (Hoffmann et al. 2022), as a signed slope.
CHINCHILLA_EXPONENT = -0.34


# ----------------------------------------------------------------------------------------
# Homogeneous growth
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GrowthTest:
    """Result of :func:`homogeneous_growth`.

    ``fits[i]`` fits subtask i's share r_i = N_i/N against ``x`` as r_i = A·x^b; growth is
    homogeneous when every b is compatible with 0 (``homogeneous``). When ``x`` is the total
    N itself, b + 1 is the slope of log N_i against log N (``slopes``, should be 1).
    """

    names: tuple[str, ...]
    against: str
    x: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    ratios: np.ndarray = field(repr=False)
    fits: tuple[PowerLawFit, ...] = field(repr=False)
    mean_ratio: tuple[float, ...]
    sd_ratio: tuple[float, ...]
    homogeneous: bool

    @property
    def ratio_slopes(self) -> tuple[float, ...]:
        """Slope of log(N_i/N) against log x per subtask (0 = homogeneous)."""
        return tuple(f.exponent for f in self.fits)

    @property
    def ratio_slope_intervals(self) -> tuple[tuple[float, float], ...]:
        return tuple(f.exponent_interval for f in self.fits)

    @property
    def slopes(self) -> tuple[float, ...]:
        """Slope of log N_i against log N (1 = homogeneous); only when ``against == 'total'``."""
        check(self.against == "total", "against", self.against, "'total' for slopes against N")
        return tuple(f.exponent + 1.0 for f in self.fits)

    @property
    def slope_intervals(self) -> tuple[tuple[float, float], ...]:
        check(self.against == "total", "against", self.against, "'total' for slopes against N")
        return tuple((lo + 1.0, hi + 1.0) for lo, hi in self.ratio_slope_intervals)

    def pair_ratio(self, i: int = 0, j: int = 1) -> tuple[float, float]:
        """Mean and standard deviation over sizes of N_i/N_j."""
        r = self.counts[:, i] / self.counts[:, j]
        return float(r.mean()), float(r.std(ddof=1)) if r.size > 1 else 0.0

    def to_dict(self) -> dict:
        out = {
            "names": list(self.names), "against": self.against, "x": self.x.tolist(),
            "counts": self.counts.tolist(), "mean_ratio": list(self.mean_ratio),
            "sd_ratio": list(self.sd_ratio), "homogeneous": self.homogeneous,
            "ratio_slopes": list(self.ratio_slopes),
            "ratio_slope_intervals": [list(iv) for iv in self.ratio_slope_intervals],
        }
        if self.against == "total":
            out["slopes"] = list(self.slopes)
            out["slope_intervals"] = [list(iv) for iv in self.slope_intervals]
        return out


def homogeneous_growth(counts, x=None, names=None, *, total=None, level: float = 0.95,
                       n_boot: int = 1000, seed: int = 0) -> GrowthTest:
    """Test hypothesis 2: are the shares N_i/N constant across model sizes (or α, β, ...)?

    counts: ``[n_sizes, n_subtasks]`` neurons allocated to each subtask, all > 0.
    x: ``[n_sizes]`` the variable the shares should not depend on; default the total N.
    total: ``[n_sizes]`` N (default ``counts.sum(1)``; pass it when some neurons are shared
    or unassigned). Each share is fitted as A·x^b with a bootstrap interval on b.

    >>> import numpy as np
    >>> n = np.array([10, 20, 40, 80, 160.0])
    >>> t = homogeneous_growth(np.stack([0.7 * n, 0.3 * n], 1), n_boot=200)
    >>> t.homogeneous, [round(s, 6) for s in t.slopes]
    (True, [1.0, 1.0])
    """
    c = np.asarray(counts, dtype=np.float64)
    check(c.ndim == 2 and c.shape[0] >= 3 and c.shape[1] >= 1, "counts", f"shape {c.shape}",
           "a 2-D array [n_sizes ≥ 3, n_subtasks]")
    check(bool(np.all(np.isfinite(c)) and np.all(c > 0)), "counts", _short(c),
           "finite counts > 0 (drop sizes where a subtask has no neurons)")
    if total is None:
        tot = c.sum(axis=1)
    else:
        tot = np.asarray(total, dtype=np.float64)
        check(tot.shape == (c.shape[0],) and bool(np.all(tot > 0)), "total", _short(tot),
               f"{c.shape[0]} numbers > 0, one per row of counts")
    against = "total" if x is None else "x"
    xs = tot if x is None else np.asarray(x, dtype=np.float64)
    check(xs.shape == (c.shape[0],) and bool(np.all(np.isfinite(xs)) and np.all(xs > 0)), "x", _short(xs),
           f"{c.shape[0]} finite numbers > 0, one per row of counts")
    if names is None:
        names = tuple(f"subtask{i}" for i in range(c.shape[1]))
    names = tuple(str(nm) for nm in names)
    check(len(names) == c.shape[1], "names", names, f"{c.shape[1]} names, one per column of counts")
    ratios = c / tot[:, None]
    fits = tuple(fit_power_law(xs, ratios[:, i], level=level, n_boot=n_boot, seed=seed + i)
                 for i in range(c.shape[1]))
    return GrowthTest(
        names=names, against=against, x=xs, counts=c, ratios=ratios, fits=fits,
        mean_ratio=tuple(float(v) for v in ratios.mean(axis=0)),
        sd_ratio=tuple(float(v) for v in ratios.std(axis=0, ddof=1)),
        homogeneous=all(f.covers(0.0) for f in fits),
    )


# ----------------------------------------------------------------------------------------
# Optimal allocation (App. C)
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptimalAllocation:
    """Neurons n_i minimising Σ a_i·n_i^-p_i subject to Σ n_i = total.

    ``n``: ``[m]`` allocation; ``losses``: ``[m]`` a_i·n_i^-p_i; ``loss``: their sum (the
    composite loss); ``method``: 'closed form', 'numeric' or 'integer greedy'.
    """

    a: tuple[float, ...]
    exponent: tuple[float, ...]
    total: float
    n: np.ndarray
    losses: np.ndarray
    loss: float
    method: str

    @property
    def fractions(self) -> np.ndarray:
        return self.n / self.n.sum()

    def to_dict(self) -> dict:
        return {"a": list(self.a), "exponent": list(self.exponent), "total": self.total,
                "n": self.n.tolist(), "fractions": self.fractions.tolist(),
                "losses": self.losses.tolist(), "loss": self.loss, "method": self.method}


def _alloc_inputs(a, total, exponent):
    a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
    check(a_arr.ndim == 1 and a_arr.size >= 1 and bool(np.all(np.isfinite(a_arr)) and np.all(a_arr > 0)),
           "a", _short(a_arr), "a 1-D array of finite subtask loss scales > 0")
    p = np.asarray(exponent, dtype=np.float64)
    check(p.ndim == 0 or p.shape == a_arr.shape, "exponent", _short(p),
           f"a number > 0 or one per subtask ({a_arr.size})")
    p = np.broadcast_to(p, a_arr.shape).astype(np.float64)
    check(bool(np.all(np.isfinite(p)) and np.all(p > 0)), "exponent", _short(p), "finite exponents > 0")
    check(isinstance(total, (int, float, np.integer, np.floating)) and not isinstance(total, bool)
           and math.isfinite(total) and total > 0, "total", total, "a finite number > 0")
    return a_arr, p, float(total)


def _continuous_allocation(a, p, total):
    if np.all(p == p[0]):
        w = a ** (1.0 / (p[0] + 1.0))
        return total * w / w.sum(), "closed form"
    # Stationarity: p_i a_i n_i^-(p_i+1) = lam  ->  n_i(lam) = (p_i a_i / lam)^(1/(p_i+1)).
    def excess(log_lam):
        return np.sum(np.exp((np.log(p * a) - log_lam) / (p + 1.0))) - total

    lo, hi = -50.0, 50.0
    while excess(lo) < 0:
        lo -= 50.0
    while excess(hi) > 0:
        hi += 50.0
    log_lam = optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500)
    n = np.exp((np.log(p * a) - log_lam) / (p + 1.0))
    return n * (total / n.sum()), "numeric"


def optimal_allocation(a, total, exponent=1.0, *, integer: bool = False) -> OptimalAllocation:
    """Split ``total`` neurons among subtasks with losses a_i·n_i^-p to minimise the sum.

    a: ``[m]`` loss scales (e.g. β and 1-β); total: neurons to share; exponent: p > 0, one
    for all (closed form, n_i ∝ a_i^(1/(p+1)), i.e. sqrt(a_i) for p = 1) or one per subtask
    (solved numerically). integer: whole neurons, each subtask at least one (greedy
    marginal allocation, exact for these convex losses; needs an integer total ≥ m).

    >>> alloc = optimal_allocation([4.0, 1.0], 30)
    >>> alloc.n.round(6).tolist(), round(alloc.loss, 6)
    ([20.0, 10.0], 0.3)
    """
    a_arr, p, tot = _alloc_inputs(a, total, exponent)
    if integer:
        check(float(tot).is_integer() and tot >= a_arr.size, "total", total,
               f"an integer ≥ the number of subtasks ({a_arr.size}) when integer=True")
        n = np.ones(a_arr.size)
        import heapq
        gain = lambda i: a_arr[i] * (n[i] ** -p[i] - (n[i] + 1) ** -p[i])  # noqa: E731
        heap = [(-gain(i), i) for i in range(a_arr.size)]
        heapq.heapify(heap)
        for _ in range(int(tot) - a_arr.size):
            _, i = heapq.heappop(heap)
            n[i] += 1
            heapq.heappush(heap, (-gain(i), i))
        method = "integer greedy"
    else:
        n, method = _continuous_allocation(a_arr, p, tot)
    losses = a_arr * n ** -p
    return OptimalAllocation(a=tuple(a_arr.tolist()), exponent=tuple(p.tolist()), total=tot, n=n,
                             losses=losses, loss=float(losses.sum()), method=method)


def composite_loss(a, total, exponent=1.0) -> np.ndarray:
    """Composite loss at the optimal allocation, for each ``total`` (scalar or ``[k]``).

    With one exponent p it is total^-p·(Σ a_i^(1/(p+1)))^(p+1): the composite task inherits
    the subtasks' N^-p law (hypotheses 1 + 3 imply the composite law).

    >>> float(composite_loss([1.0, 1.0], 10.0))   # (1 + 1)^2 / 10
    0.4
    """
    tot = np.asarray(total, dtype=np.float64)
    out = np.array([optimal_allocation(a, float(t), exponent).loss for t in tot.reshape(-1)])
    return out.reshape(tot.shape)


def exponent_from_ratio(a, ratio: float) -> float:
    """Subtask exponent p that makes the optimal n_1/n_2 equal a measured ``ratio``, for two
    subtasks with loss scales ``a = (a_1, a_2)``: ratio = (a_1/a_2)^(1/(p+1)).

    >>> round(exponent_from_ratio([0.75, 0.25], 3 ** 0.5), 6)   # the paper's p = 1
    1.0
    """
    a_arr = np.asarray(a, dtype=np.float64)
    check(a_arr.shape == (2,) and bool(np.all(a_arr > 0)) and a_arr[0] != a_arr[1], "a", _short(a_arr),
           "two different loss scales > 0")
    check(isinstance(ratio, (int, float, np.floating)) and ratio > 0 and ratio != 1, "ratio", ratio,
           "a number > 0 and ≠ 1")
    return float(math.log(a_arr[0] / a_arr[1]) / math.log(ratio) - 1.0)


# ----------------------------------------------------------------------------------------
# Chinchilla conversion (section 4)
# ----------------------------------------------------------------------------------------

_DEPTH = {"proportional": 1.0, "fixed": 0.0}


@dataclass(frozen=True)
class ParamsScaling:
    """Loss-vs-parameters exponent implied by a loss-vs-neurons exponent.

    Assumptions (paper, section 4): neurons N ∝ width^modules_exponent (1: modules ∝ width),
    depth ∝ width^depth_exponent (1: depth ∝ width, 0: fixed depth), parameters
    N_p ∝ width²·depth. Then ℓ ∝ N^e gives ℓ ∝ N_p^(e·modules_exponent/(2 + depth_exponent)).
    """

    loss_exponent: float
    loss_exponent_interval: tuple[float, float] | None
    depth_exponent: float
    modules_exponent: float
    params_exponent: float
    params_exponent_interval: tuple[float, float] | None
    chinchilla: float = CHINCHILLA_EXPONENT

    @property
    def difference(self) -> float:
        """params_exponent − Chinchilla's −0.34."""
        return self.params_exponent - self.chinchilla

    def covers_chinchilla(self) -> bool | None:
        """Whether −0.34 lies inside the propagated interval (None without an interval)."""
        if self.params_exponent_interval is None:
            return None
        lo, hi = self.params_exponent_interval
        return bool(lo <= self.chinchilla <= hi)

    def to_dict(self) -> dict:
        return {
            "loss_exponent": self.loss_exponent,
            "loss_exponent_interval": None if self.loss_exponent_interval is None else list(self.loss_exponent_interval),
            "depth_exponent": self.depth_exponent, "modules_exponent": self.modules_exponent,
            "params_exponent": self.params_exponent,
            "params_exponent_interval": None if self.params_exponent_interval is None
            else list(self.params_exponent_interval),
            "chinchilla": self.chinchilla, "difference": self.difference,
            "covers_chinchilla": self.covers_chinchilla(),
        }


def chinchilla_conversion(loss_exponent=-1.0, depth="proportional", *, modules_exponent: float = 1.0) -> ParamsScaling:
    """Convert ℓ ∝ N^e (N = allocated neurons) into ℓ ∝ N_p^e' (N_p = parameters).

    loss_exponent: the signed exponent e (paper: −1), or a :class:`PowerLawFit` whose
    interval is carried through. depth: ``"proportional"`` (depth ∝ width → e/3),
    ``"fixed"`` (→ e/2) or a number γ with depth ∝ width^γ.

    >>> chinchilla_conversion(-1.0, "fixed").params_exponent
    -0.5
    >>> round(chinchilla_conversion(-1.0).difference, 4)   # vs Chinchilla's −0.34
    0.0067
    """
    interval = None
    if isinstance(loss_exponent, PowerLawFit):
        interval = loss_exponent.exponent_interval
        e = loss_exponent.exponent
    else:
        check(isinstance(loss_exponent, (int, float, np.floating)) and not isinstance(loss_exponent, bool)
               and math.isfinite(loss_exponent), "loss_exponent", loss_exponent, "a finite number or a PowerLawFit")
        e = float(loss_exponent)
    if isinstance(depth, str):
        check(depth in _DEPTH, "depth", depth, "'proportional', 'fixed' or a number γ ≥ 0 (depth ∝ width^γ)")
        g = _DEPTH[depth]
    else:
        check(isinstance(depth, (int, float, np.floating)) and not isinstance(depth, bool)
               and math.isfinite(depth) and depth >= 0, "depth", depth,
               "'proportional', 'fixed' or a number γ ≥ 0 (depth ∝ width^γ)")
        g = float(depth)
    check(isinstance(modules_exponent, (int, float)) and modules_exponent > 0, "modules_exponent",
           modules_exponent, "a number > 0 (N ∝ width^modules_exponent)")
    factor = modules_exponent / (2.0 + g)
    p_int = None if interval is None else (interval[0] * factor, interval[1] * factor)
    return ParamsScaling(loss_exponent=e, loss_exponent_interval=interval, depth_exponent=g,
                         modules_exponent=float(modules_exponent), params_exponent=e * factor,
                         params_exponent_interval=p_int)
