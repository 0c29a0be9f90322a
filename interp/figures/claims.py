"""Rows of the claims table: a figure's claim, the paper's value, ours with its interval,
and whether they agree (True, False, or None when the interval cannot decide).

>>> claim("slope", "≈ -1", -1.02, (-1.1, -0.95), True)["interval"]
[-1.1, -0.95]
>>> decides((-1.3, -0.8), -1.0, 0.0), decides((-10.5, 0.3), -1.0, 0.0)
(True, None)
>>> ClaimTest("below", -1.0).decide((-34.8, 7.5)), ClaimTest("below", -1.0).decide((-2.4, -1.1))
(None, True)
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

from models.validate import check

from ..theory.fits import fit_power_law
from ..theory.floor import FloorTest, loss_floor


NO_FIT = "no fit: fewer than 3 usable points or 3 distinct x (e.g. counts saturated at the width)"


KINDS = ("target", "below", "above", "not", "none")


@dataclass(frozen=True)
class ClaimTest:
    """What a claim asks of our number, and which way is toward the paper: ``target`` (ours ≈
    ``value``), ``below`` / ``above`` (ours < / > ``value``), ``not`` (ours ≠ ``value``), or
    ``none`` (a number shown, not tested: e.g. a fit over two phases the paper calls ``value``
    in one only).

    ``decide(interval)`` is the test on a 95% interval: ``target`` agrees when it holds
    ``value``; ``below`` when it lies wholly below, disagrees when wholly at or above, and has
    no test (None) when it straddles ``value`` (``above`` alike); ``not`` agrees when it
    excludes ``value`` and disagrees when it holds it (the mirror of ``target``); ``none``
    never tests. ``gap(ours)`` is how far ours lies from the paper's side, smaller being
    closer: ``|ours - value|`` for ``target``, ``ours - value`` for ``below``, ``value - ours``
    for ``above``, ``-|ours - value|`` for ``not`` (moving off ``value`` is toward the paper)."""

    kind: str
    value: float | None = None

    def __post_init__(self):
        check(self.kind in KINDS, "kind", self.kind, f"one of {KINDS}")
        if self.kind != "none":
            check(isinstance(self.value, (int, float)) and not isinstance(self.value, bool)
                  and math.isfinite(self.value), "value", self.value, f"a finite number for a {self.kind!r} test")

    def decide(self, interval) -> bool | None:
        if self.kind == "none" or interval is None:
            return None
        lo, hi = float(interval[0]), float(interval[1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        v = float(self.value)
        if self.kind == "target":
            return lo <= v <= hi
        if self.kind == "not":
            return not lo <= v <= hi
        if self.kind == "below":
            return True if hi < v else False if lo >= v else None
        return True if lo > v else False if hi <= v else None

    def gap(self, ours: float) -> float | None:
        if self.kind == "none":
            return None
        d = float(ours) - float(self.value)
        return {"target": abs(d), "below": d, "above": -d, "not": -abs(d)}[self.kind]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value}


_NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def paper_number(paper) -> float | None:
    """The number a claim's ``paper`` column states (``"≈ -1 (late phase)"`` -> -1.0), or None."""
    if isinstance(paper, (int, float)) and not isinstance(paper, bool):
        return float(paper)
    if not isinstance(paper, str):
        return None
    m = _NUMBER.search(paper)
    return float(m.group().replace("−", "-")) if m else None


def claim_test(row: dict) -> ClaimTest | None:
    """A claim row's test: the one it declares (``row["test"]``), else read from its ``paper``
    text: ``"not X"`` -> not X, ``"< X"`` -> below X, ``"> X"`` -> above X, any other text with
    a number X -> target X; None when the text states no number."""
    declared = row.get("test")
    if isinstance(declared, ClaimTest):
        return declared
    if isinstance(declared, dict):
        return ClaimTest(declared["kind"], declared.get("value"))
    paper = row.get("paper")
    value = paper_number(paper)
    if value is None:
        return None
    text = paper.strip().lower() if isinstance(paper, str) else ""
    kind = "not" if text.startswith("not ") else "below" if text.startswith("<") else \
        "above" if text.startswith(">") else "target"
    return ClaimTest(kind, value)


def claim(claim: str, paper, ours, interval=None, agree=None, note: str = "", test: ClaimTest | None = None) -> dict:
    """One row of the report's claims table; ``test``, when given, is kept in the row (so a
    ladder can decide the row again from its interval) and ``agree`` None is decided by it."""
    ours = None if ours is None else float(ours)
    if ours is not None and not math.isfinite(ours):
        ours = None
    iv = None if interval is None else [float(interval[0]), float(interval[1])]
    if test is not None and agree is None:
        agree = test.decide(iv)
    row = {"claim": claim, "paper": paper, "ours": ours, "interval": iv,
           "agree": None if agree is None else bool(agree), "note": note}
    if test is not None:
        row["test"] = test.as_dict()
    return row


def covers(interval, value) -> bool:
    return bool(interval[0] <= value <= interval[1])


def decides(interval, value, null):
    """Agreement that means something: True when ``interval`` covers ``value`` and excludes
    ``null`` (the no-effect alternative), False when it excludes ``value``, None when it covers
    both (too wide to tell them apart). ``interval`` None gives None."""
    if interval is None:
        return None
    if not covers(interval, value):
        return False
    return None if covers(interval, null) else True


def exponent_claim(name: str, paper, fit, agree, note: str, no_fit: str = NO_FIT) -> dict:
    """Claim on a fitted exponent, decided by ``agree(fit)``; ``fit`` None (see ``safe_fit``)
    gives a row with no number and no test, noted ``no_fit``."""
    if fit is None:
        return claim(name, paper, None, None, None, no_fit)
    return claim(name, paper, fit.exponent, fit.exponent_interval, agree(fit), note)


def fit_claim(name: str, fit, paper_value: float, paper_text: str | None = None, note: str = "",
              null: float | None = None, no_fit: str = NO_FIT) -> dict:
    """Claim that a fitted exponent matches ``paper_value`` (agree: inside our 95% interval;
    with ``null``, also ``null`` outside it, else no test: see ``decides``)."""
    paper = paper_text or paper_value
    if null is None:
        return exponent_claim(name, paper, fit, lambda f: covers(f.exponent_interval, paper_value),
                              note or "agree: paper's value in our 95% bootstrap CI", no_fit)
    return exponent_claim(name, paper, fit, lambda f: decides(f.exponent_interval, paper_value, null),
                          note or f"agree: paper's value in our 95% bootstrap CI and {null:g} outside it; "
                                  "no test when the CI covers both", no_fit)


def seed_interval(values, level: float = 0.95, log: bool = False):
    """Mean of per-seed ``values`` and its Student-t ``level`` interval over the seeds (on log
    values, back-transformed, with ``log``): the tolerance a claim takes from seed spread.
    ``(mean, None)`` with fewer than 2 finite values.

    >>> m, iv = seed_interval([0.40, 0.44, 0.42, 0.46]); round(m, 2), [round(v, 3) for v in iv]
    (0.43, [0.389, 0.471])
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if log:
        v = np.log(v)
    if v.size == 0:
        return float("nan"), None
    m = float(v.mean())
    if v.size < 2:
        return (math.exp(m) if log else m), None
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    lo, hi = m - half, m + half
    return (math.exp(m), (math.exp(lo), math.exp(hi))) if log else (m, (lo, hi))


RMS_SMALL = 0.2
"""The RMS error below which a predicted R_k/S curve counts as a fit (emergence Fig. 1's rule)."""


def rms_claim(name: str, paper, measured, predicted, note: str, why: str | None = None) -> dict:
    """Claim that ``predicted [n]`` fits the curves ``measured [n, M]`` of M seeds. Ours is each
    seed's RMS error over the n points (R/S in [0, 1]), averaged over the seeds, with its t
    interval over them (``seed_interval``, kept within [0, 1]): agree when the whole interval
    lies below ``RMS_SMALL``, disagree when at or above, no test when it straddles it (or when
    ``why`` says there is nothing to test).
    One seed keeps the fixed rule, RMS < 0.2, and the note says so. The note also gives the RMS
    error of the seeds' mean curve.

    >>> x = np.linspace(0, 1, 8); truth = x ** 2; g = np.random.default_rng(0)
    >>> near = truth[:, None] + 0.02 * g.standard_normal((8, 3))
    >>> [rms_claim("c", "small", m, truth, "")["agree"] for m in (near, near + 0.5, near[:, :1])]
    [True, False, True]
    """
    m, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    check(m.ndim == 2 and p.shape == m.shape[:1], "measured", m.shape,
          f"curves [n={p.size}, seeds] beside predicted [n]")
    per_seed = np.sqrt(np.mean((m - p[:, None]) ** 2, axis=0))
    ours, iv = seed_interval(per_seed)
    iv = None if iv is None else (max(iv[0], 0.0), min(iv[1], 1.0))      # an RMS of R/S in [0, 1]
    of_mean = float(np.sqrt(np.mean((m.mean(1) - p) ** 2)))
    test = ClaimTest("none") if why else ClaimTest("below", RMS_SMALL)
    agree = ours < RMS_SMALL if iv is None and not why else None         # else ``claim`` decides by ``test``
    each = ", ".join(f"{v:.3g}" for v in per_seed)
    rule = (f"each seed's RMS error ({each}), t interval over the {m.shape[1]} seeds; agree: the interval below "
            f"{RMS_SMALL:g}, no test when it holds {RMS_SMALL:g}" if iv is not None
            else f"one seed: agree when RMS < {RMS_SMALL:g}")
    return claim(name, paper, ours, iv, agree, f"{note}; {rule}; RMS of the seeds' mean curve {of_mean:.3g}"
                 + (f"; no test: {why}" if why else ""), test=test)


def geo_mean(a):
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.exp(np.mean(np.log(a)))) if a.size else float("nan")


def fit_off_floor(knob, x, y, n_boot: int = 500):
    """``safe_fit(x, y)`` on the points not on a loss floor (``interp.theory.floor``'s rule on
    ``knob``, each point's α, and the losses ``y``). Returns ``(fit or None, FloorTest)``;
    the test's ``on_floor`` has the shape of ``y``."""
    y = np.asarray(y, dtype=float)
    floor = loss_floor(np.broadcast_to(np.asarray(knob, dtype=float), y.shape), y)
    on = floor.on_floor.reshape(y.shape)
    floor = FloorTest(on, floor.values, floor.p, floor.testable)
    return safe_fit(np.asarray(x, dtype=float)[~on], y[~on], n_boot=n_boot), floor


def safe_fit(x, y, n_boot: int = 500):
    """``fit_power_law`` on the finite positive pairs, or None when they cannot support a fit
    (fewer than 3 points or 3 distinct x, e.g. neuron counts saturated at the width)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3 or np.unique(x[ok]).size < 3:
        return None
    return fit_power_law(x[ok], y[ok], n_boot=n_boot)
