"""Rows of the claims table: a figure's claim, the paper's value, ours with its interval,
and whether they agree (True, False, or None when the interval cannot decide).

>>> claim("slope", "≈ -1", -1.02, (-1.1, -0.95), True)["interval"]
[-1.1, -0.95]
>>> decides((-1.3, -0.8), -1.0, 0.0), decides((-10.5, 0.3), -1.0, 0.0)
(True, None)
"""
from __future__ import annotations

import math

import numpy as np

from ..theory.fits import fit_power_law


NO_FIT = "no fit: fewer than 3 usable points or 3 distinct x (e.g. counts saturated at the width)"


def claim(claim: str, paper, ours, interval=None, agree=None, note: str = "") -> dict:
    """One row of the report's claims table."""
    ours = None if ours is None else float(ours)
    if ours is not None and not math.isfinite(ours):
        ours = None
    iv = None if interval is None else [float(interval[0]), float(interval[1])]
    return {"claim": claim, "paper": paper, "ours": ours, "interval": iv,
            "agree": None if agree is None else bool(agree), "note": note}


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


def geo_mean(a):
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.exp(np.mean(np.log(a)))) if a.size else float("nan")


def safe_fit(x, y, n_boot: int = 500):
    """``fit_power_law`` on the finite positive pairs, or None when they cannot support a fit
    (fewer than 3 points or 3 distinct x, e.g. neuron counts saturated at the width)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3 or np.unique(x[ok]).size < 3:
        return None
    return fit_power_law(x[ok], y[ok], n_boot=n_boot)
