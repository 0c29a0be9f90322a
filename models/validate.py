"""Checks for user input: each failure is a ``ValueError`` naming the argument, its value
and what is allowed.

>>> check(3 > 0, "width", 3, "an integer ≥ 1")
>>> check_positive("width", -2, integer=True)
Traceback (most recent call last):
...
ValueError: width=-2 is not allowed: expected an integer ≥ 1
"""
from __future__ import annotations

import math


def check(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")


def check_positive(name: str, value, integer: bool = False) -> None:
    """A number > 0 (an integer ≥ 1 when ``integer``); bools are refused."""
    if integer:
        check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, value, "an integer ≥ 1")
    else:
        check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0,
              name, value, "a finite number > 0")
