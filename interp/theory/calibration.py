"""Calibrate, then predict: the multilinear model's calibrated forms against neural networks
(SPEC B). Each form has one free constant, fitted on skill 1's measured R_1/S curve and then
used to predict R_k/S for the other skills:

- time (x = steps): R_k/S = 1 / (1 + c·exp(−4·p_k·S·η·x / N_c))
- data (x = samples): R_k/S = 1 − sqrt(max(0, 1 − x·p_k / D_c))
- parameters (x = width): R_k/S = clip((x − (k−1)·N_c) / N_c, 0, 1)

plus the emergence step τ_k of a measured curve and the power law τ_k ∝ k^b it follows.
Pure maths: numpy and scipy only.

>>> p = skill_frequencies(3, 0.6)
>>> calibrated_strength("parameters", [4.0, 8.0], [1, 2], p, 4.0).tolist()
[[1.0, 0.0], [1.0, 1.0]]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

from models.validate import check, check_seed, is_real

from .fits import PowerLawFit, _short, fit_power_law
from .multilinear import RESOURCES, skill_frequencies  # noqa: F401 (the doctests use it)

__all__ = ["calibration_offset", "calibrated_strength", "Calibration", "calibrate", "calibrate_history",
           "emergence_step", "emergence_times", "EmergenceTimes", "PAPER_THRESHOLDS", "emergence_law"]


def calibration_offset(scale: float, init: float, factor: float = 3.6) -> float:
    """c = factor·S/init² − 1: the sigmoid offset of the time form, from the network's
    output scale S and initialisation scale (factor 3.6 as in the paper's code).

    >>> calibration_offset(5.0, 0.01)
    179999.0
    """
    for name, v in (("scale", scale), ("init", init), ("factor", factor)):
        check(is_real(v) and math.isfinite(v) and v > 0, name, v, "a finite number > 0")
    return float(factor * scale / init ** 2 - 1.0)


def _freqs(frequencies) -> np.ndarray:
    p = np.asarray(frequencies, dtype=np.float64)
    check(p.ndim == 1 and p.size >= 1 and bool(np.all(np.isfinite(p)) and np.all(p > 0)) and abs(p.sum() - 1) < 1e-6,
           "frequencies", _short(p), "skill frequencies P_k > 0 summing to 1 (e.g. task.weights)")
    return p


def calibrated_strength(resource: str, x, skills, frequencies, constant: float, *, scale: float = 1.0,
                        lr: float = 1.0, c: float | None = None) -> np.ndarray:
    """R_k/S of the calibrated forms, ``[len(x), len(skills)]`` (skills 1-based):

    - time (x = steps): 1 / (1 + c·exp(−4·p_k·S·η·x / N_c)), constant = N_c
    - data (x = samples): 1 − sqrt(max(0, 1 − x·p_k / D_c)), constant = D_c
    - parameters (x = width): clip((x − (k−1)·N_c) / N_c, 0, 1), constant = N_c

    >>> calibrated_strength("parameters", [2, 6], [1, 2], [0.6, 0.4], 4.0).tolist()
    [[0.5, 0.0], [1.0, 0.5]]
    """
    check(resource in RESOURCES, "resource", resource, f"one of {RESOURCES}")
    p = _freqs(frequencies)
    k = np.atleast_1d(np.asarray(skills))
    check(k.ndim == 1 and np.issubdtype(k.dtype, np.integer) and bool(np.all((k >= 1) & (k <= p.size))),
           "skills", _short(k), f"1-based skill indices in [1, {p.size}]")
    check(is_real(constant) and math.isfinite(constant) and constant > 0, "constant", constant,
           "a finite number > 0")
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))[:, None]
    pk = p[k - 1][None, :]
    if resource == "time":
        check(c is not None and is_real(c) and c > -1, "c", c,
               "a number > −1 for the time form (see calibration_offset)")
        return special.expit(4.0 * pk * scale * lr * x / constant - math.log(c)) if c > 0 else \
            1.0 / (1.0 + c * np.exp(-4.0 * pk * scale * lr * x / constant))
    if resource == "data":
        return 1.0 - np.sqrt(np.maximum(0.0, 1.0 - x * pk / constant))
    return np.clip((x - (k[None, :] - 1) * constant) / constant, 0.0, 1.0)


def _emergence_x(resource, threshold, pk, k, constant, scale, lr, c):
    """x at which the calibrated R_k/S reaches ``threshold`` (closed form), ``[len(k)]``."""
    if resource == "time":
        arg = c * threshold / (1.0 - threshold)
        return np.where(arg > 1, constant * math.log(max(arg, 1e-300)) / (4.0 * pk * scale * lr), 0.0)
    if resource == "data":
        return constant * (1.0 - (1.0 - threshold) ** 2) / pk
    return (k - 1 + threshold) * constant


@dataclass(frozen=True)
class Calibration:
    """One constant of a calibrated form, fitted on one skill's measured R/S curve.

    ``constant`` (N_c or D_c) with a bootstrap ``interval``; ``predict`` gives R_k/S for every
    skill; ``predicted_emergence`` the x at which each skill reaches a threshold.
    """

    resource: str
    skill: int
    constant: float
    interval: tuple[float, float]
    level: float
    frequencies: np.ndarray = field(repr=False)
    scale: float
    lr: float
    c: float | None
    rmse: float
    n_points: int
    n_repeats: int
    samples: np.ndarray = field(repr=False, compare=False)

    @property
    def n_skills(self) -> int:
        return int(self.frequencies.size)

    def _kw(self):
        return dict(scale=self.scale, lr=self.lr, c=self.c)

    def predict(self, x, skills=None, constant: float | None = None) -> np.ndarray:
        """Predicted R_k/S, ``[len(x), n_selected]`` (default all skills)."""
        k = np.arange(1, self.n_skills + 1) if skills is None else np.atleast_1d(np.asarray(skills))
        return calibrated_strength(self.resource, x, k, self.frequencies,
                                   self.constant if constant is None else constant, **self._kw())

    def predict_band(self, x, skills=None) -> tuple[np.ndarray, np.ndarray]:
        """Predictions at the two ends of the constant's interval (lower, upper envelope)."""
        a = self.predict(x, skills, self.interval[0])
        b = self.predict(x, skills, self.interval[1])
        return np.minimum(a, b), np.maximum(a, b)

    def predicted_emergence(self, threshold: float = 0.05, skills=None, constant: float | None = None) -> np.ndarray:
        """x at which R_k/S reaches ``threshold`` under the calibrated form, ``[n_selected]``."""
        check(is_real(threshold) and 0 < threshold < 1, "threshold", threshold, "a number in (0, 1)")
        k = np.arange(1, self.n_skills + 1) if skills is None else np.atleast_1d(np.asarray(skills))
        const = self.constant if constant is None else constant
        return _emergence_x(self.resource, threshold, self.frequencies[k - 1], k, const, self.scale, self.lr, self.c)

    def predicted_emergence_interval(self, threshold: float = 0.05, skills=None) -> tuple[np.ndarray, np.ndarray]:
        a = self.predicted_emergence(threshold, skills, self.interval[0])
        b = self.predicted_emergence(threshold, skills, self.interval[1])
        return np.minimum(a, b), np.maximum(a, b)

    def to_dict(self) -> dict:
        return {"resource": self.resource, "skill": self.skill, "constant": self.constant,
                "interval": list(self.interval), "level": self.level, "frequencies": self.frequencies.tolist(),
                "scale": self.scale, "lr": self.lr, "c": self.c, "rmse": self.rmse, "n_points": self.n_points,
                "n_repeats": self.n_repeats}


def calibrate(resource: str, x, strength, *, frequencies, skill: int = 1, scale: float = 1.0, lr: float = 1.0,
              c: float | None = None, level: float = 0.95, n_boot: int = 500, seed: int = 0) -> Calibration:
    """Fit the one constant of a calibrated form on skill ``skill``'s measured curve.

    resource: 'time' (x = steps, fits N_c), 'data' (x = data-set sizes, fits D_c) or
    'parameters' (x = widths, fits N_c). strength: measured R/S of that skill, ``[n_points]``
    or ``[n_points, n_repeats]`` (repeats = seeds). frequencies: P_k of all skills ``[n_s]``.
    scale, lr, c: S, η and the offset c of the time form (see :func:`calibration_offset`).
    Least squares on the mean curve over a fine log grid refined by Brent's method; the
    interval is a seeded bootstrap over repeats (or over points when there is one curve).

    >>> p = skill_frequencies(5, 0.6)
    >>> steps = np.linspace(0, 3000, 60)
    >>> r1 = calibrated_strength("time", steps, [1], p, 22.0, scale=5, lr=0.02, c=1e3)[:, 0]
    >>> cal = calibrate("time", steps, r1, frequencies=p, scale=5, lr=0.02, c=1e3, n_boot=50)
    >>> round(cal.constant, 4)
    22.0
    """
    check(resource in RESOURCES, "resource", resource, f"one of {RESOURCES}")
    p = _freqs(frequencies)
    check(isinstance(skill, (int, np.integer)) and 1 <= skill <= p.size, "skill", skill,
           f"a 1-based skill index in [1, {p.size}]")
    xs = np.asarray(x, dtype=np.float64)
    check(xs.ndim == 1 and xs.size >= 3 and bool(np.all(np.isfinite(xs)) and np.all(xs >= 0)), "x", _short(xs),
           "a 1-D array of ≥ 3 finite values ≥ 0")
    y = np.asarray(strength, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    check(y.ndim == 2 and y.shape[0] == xs.size and bool(np.all(np.isfinite(y))), "strength", f"shape {y.shape}",
           f"finite values shaped [{xs.size}] or [{xs.size}, n_repeats]")
    check(is_real(scale) and scale > 0, "scale", scale, "a number > 0")
    check(is_real(lr) and lr > 0, "lr", lr, "a number > 0")
    if resource == "time":
        check(c is not None and is_real(c) and c > -1, "c", c, "a number > −1 for the time form")
    check(is_real(level) and 0 < level < 1, "level", level, "a number in (0, 1)")
    check(isinstance(n_boot, (int, np.integer)) and n_boot >= 20, "n_boot", n_boot, "an integer ≥ 20")
    check_seed("seed", int(seed) if isinstance(seed, np.integer) else seed)
    kw = dict(scale=float(scale), lr=float(lr), c=None if c is None else float(c))

    # Search range for the constant: the skill's emergence x within [x_min/30, 30·x_max].
    pos = xs[xs > 0]
    x_lo, x_hi = (pos.min() if pos.size else 1.0) / 30.0, xs.max() * 30.0
    unit = float(_emergence_x(resource, 0.5, p[skill - 1], skill, 1.0, kw["scale"], kw["lr"], kw["c"]))
    check(unit > 0, "c", c, "an offset for which the curve crosses R/S = ½ at some x > 0")
    grid = np.exp(np.linspace(math.log(x_lo / unit), math.log(x_hi / unit), 801))
    curves = np.stack([calibrated_strength(resource, xs, [skill], p, g, **kw)[:, 0] for g in grid])  # [G, n]

    def best(target, weight=None, i=None):
        """Constant minimising Σ weight·(target − curve)² (target, weight ``[n]``): the grid
        minimum (row ``i`` if given), refined by Brent's method between its neighbours."""
        wt = np.ones_like(target) if weight is None else weight
        if i is None:
            i = int(np.argmin(((curves - target[None, :]) ** 2) @ wt))
        sse_i = float(((curves[i] - target) ** 2) @ wt)
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        f = lambda lg: float(((calibrated_strength(resource, xs, [skill], p, math.exp(lg), **kw)[:, 0]  # noqa: E731
                               - target) ** 2) @ wt)
        if hi <= lo:
            return float(grid[i])
        res = optimize.minimize_scalar(f, bounds=(math.log(lo), math.log(hi)), method="bounded",
                                       options={"xatol": 1e-10})
        return float(math.exp(res.x)) if res.fun <= sse_i else float(grid[i])

    mean = y.mean(axis=1)
    const = best(mean)
    rmse = float(np.sqrt(np.mean((calibrated_strength(resource, xs, [skill], p, const, **kw)[:, 0] - mean) ** 2)))

    # Bootstrap: each resample is fitted exactly as the estimate is (grid, then Brent), so the
    # interval describes this estimator; the piecewise forms (data, parameters) have kinks
    # that a parabolic shortcut would misplace. Identical resamples are fitted once.
    rng = np.random.default_rng(seed)
    n, m = y.shape
    if m >= 2:
        w = rng.multinomial(m, np.full(m, 1.0 / m), size=n_boot) / m          # [B, m] over repeats
        targets, weights = w @ y.T, np.ones((n_boot, n))                        # [B, n] each
    else:
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # [B, n] over points
        targets = np.broadcast_to(mean, (n_boot, n))
    keys, inverse = np.unique(np.concatenate([targets, weights], axis=1), axis=0, return_inverse=True)
    sse = np.stack([((curves - k[None, :n]) ** 2) @ k[n:] for k in keys])      # [U, G]
    fitted = np.array([best(k[:n], k[n:], int(np.argmin(row))) for k, row in zip(keys, sse)])
    boot = fitted[np.asarray(inverse).reshape(-1)]
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    lo, hi = np.percentile(boot, q)
    return Calibration(resource=resource, skill=int(skill), constant=const, interval=(float(lo), float(hi)),
                       level=float(level), frequencies=p, scale=kw["scale"], lr=kw["lr"], c=kw["c"], rmse=rmse,
                       n_points=int(n), n_repeats=int(m), samples=boot)


def calibrate_history(history, task, *, lr: float, c: float | None = None, init: float | None = None,
                      skill: int = 1, level: float = 0.95, n_boot: int = 500, seed: int = 0) -> Calibration:
    """Time-form calibration straight from a trainer history on a sparse-parity task.

    history: ``TrainResult.history`` with ``"step"`` ``[n_points]`` and ``"skill_strength"``
    ``[n_points, n_skills]`` or ``[n_points, M, n_skills]`` (an ensemble of M repeats);
    task: supplies ``weights`` (P_k) and ``scale`` (S); lr: the SGD learning rate;
    c: the offset, or ``init`` (the init scale) to use :func:`calibration_offset`.
    """
    check("step" in history and "skill_strength" in history, "history", sorted(history),
           "a trainer history with 'step' and 'skill_strength'")
    steps = np.asarray(history["step"], dtype=np.float64)
    ss = np.asarray(history["skill_strength"], dtype=np.float64)
    check(ss.ndim in (2, 3) and ss.shape[0] == steps.size, "history['skill_strength']", f"shape {ss.shape}",
           f"[{steps.size}, n_skills] or [{steps.size}, M, n_skills]")
    curve = ss[..., skill - 1]
    if c is None:
        check(init is not None, "init", init, "the init scale when c is not given")
        c = calibration_offset(float(task.scale), float(init))
    p = np.asarray(task.weights, dtype=np.float64)
    return calibrate("time", steps, curve, frequencies=p, skill=skill, scale=float(task.scale), lr=lr, c=c,
                     level=level, n_boot=n_boot, seed=seed)


def emergence_step(x, strength, threshold: float = 0.05) -> np.ndarray:
    """First x at which a measured R_k/S reaches ``threshold``, per column (NaN if never).

    x: ``[n_points]`` increasing; strength: ``[n_points]`` or ``[n_points, n_skills]``.

    >>> emergence_step([0, 10, 20, 30], [[0.0, 0.0], [0.01, 0.0], [0.2, 0.0], [0.9, 0.06]]).tolist()
    [20.0, 30.0]
    """
    xs = np.asarray(x, dtype=np.float64)
    r = np.asarray(strength, dtype=np.float64)
    squeeze = r.ndim == 1
    r = r[:, None] if squeeze else r
    check(xs.ndim == 1 and r.ndim == 2 and r.shape[0] == xs.size, "strength", f"shape {r.shape}",
           f"[{xs.size}] or [{xs.size}, n_skills] matching x")
    check(bool(np.all(np.isfinite(xs))), "x", _short(xs), "finite numbers")
    check(bool(np.all(np.diff(xs) > 0)), "x", _short(xs),
           "strictly increasing numbers (the first x where the strength reaches the threshold is read in order)")
    check(bool(np.all(np.isfinite(r))), "strength", _short(r), "finite numbers (a NaN would read as never reached)")
    check(is_real(threshold) and 0 < threshold < 1, "threshold", threshold, "a number in (0, 1)")
    hit = r >= threshold
    out = np.where(hit.any(axis=0), xs[np.argmax(hit, axis=0)], np.nan)
    return out[0] if squeeze else out


PAPER_THRESHOLDS = (0.05, 0.25, 0.45, 0.65)
"""The thresholds of R_k/S whose crossing steps the emergence paper averages into τ_k (Fig. 4)."""


class EmergenceTimes(NamedTuple):
    """τ_k as the mean crossing step over several thresholds: ``mean [n_skills]`` (NaN where
    a threshold is never reached), ``spread [n_skills]`` (sample standard deviation over
    the thresholds: the paper's error bars) and ``per_threshold [n_thresholds, n_skills]``."""

    mean: np.ndarray
    spread: np.ndarray
    per_threshold: np.ndarray
    thresholds: tuple


def emergence_times(x, strength, thresholds=PAPER_THRESHOLDS) -> EmergenceTimes:
    """The emergence time of each skill as the emergence paper defines it (Fig. 4): the first
    x at which R_k/S reaches each threshold, averaged over the thresholds, with their sample
    standard deviation as the error bar. x: ``[n_points]``; strength: ``[n_points, n_skills]``
    (a curve averaged over runs, as the paper does).

    >>> t = emergence_times([0, 10, 20, 30, 40], [[0.0], [0.1], [0.3], [0.5], [0.7]])
    >>> t.per_threshold[:, 0].tolist(), float(t.mean[0])
    ([10.0, 20.0, 30.0, 40.0], 25.0)
    """
    th = tuple(float(v) for v in np.atleast_1d(np.asarray(thresholds, dtype=np.float64)))
    check(len(th) >= 2 and all(0 < v < 1 for v in th), "thresholds", thresholds,
           "two or more numbers in (0, 1)")
    r = np.asarray(strength, dtype=np.float64)
    r = r[:, None] if r.ndim == 1 else r
    per = np.stack([np.atleast_1d(emergence_step(x, r, v)) for v in th])        # [n_thr, n_skills]
    done = np.all(np.isfinite(per), axis=0)
    safe = np.where(np.isfinite(per), per, 0.0)
    mean = np.where(done, safe.mean(axis=0), np.nan)
    spread = np.where(done, safe.std(axis=0, ddof=1), np.nan)
    return EmergenceTimes(mean=mean, spread=spread, per_threshold=per, thresholds=th)


def emergence_law(tau, skills=None, *, level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> PowerLawFit:
    """Fit τ_k = A·k^b to emergence times; the multilinear model predicts b = α + 1.

    tau: ``[n]`` emergence times > 0 (NaNs are dropped); skills: their 1-based indices
    (default 1..n).

    >>> from interp.theory.multilinear import Multilinear
    >>> m = Multilinear(alpha=0.9, n_skills=10)
    >>> round(emergence_law(m.emergence_time(range(1, 11)), n_boot=50).exponent, 6)
    1.9
    """
    t = np.asarray(tau, dtype=np.float64)
    k = np.arange(1, t.size + 1, dtype=np.float64) if skills is None else np.asarray(skills, dtype=np.float64)
    check(t.ndim == 1 and k.shape == t.shape, "skills", _short(k), f"{t.size} skill indices matching tau")
    keep = np.isfinite(t) & (t > 0)
    return fit_power_law(k[keep], t[keep], level=level, n_boot=n_boot, seed=seed)
