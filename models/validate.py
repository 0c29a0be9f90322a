"""Checks for user input: each failure is a ``ValueError`` naming the argument, its value
and what is allowed. The limits on what a user's number may make us allocate live here too.

>>> check(3 > 0, "width", 3, "an integer ≥ 1")
>>> check_positive("width", -2, integer=True)
Traceback (most recent call last):
...
ValueError: width=-2 is not allowed: expected an integer ≥ 1
>>> check_memory("widths", (3 * 10**9,), 4 * 3 * 10**9, "parameters")
Traceback (most recent call last):
...
ValueError: widths=(3000000000,) is not allowed: expected at most 8 GiB; it asks for 11.2 GiB (parameters)
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path

MAX_BYTES = 2**33
"""What one object built from a user's numbers may take (8 GiB): a model's parameters, a
task's tables, one piece of a streamed evaluation."""
MAX_PARAMETERS = MAX_BYTES // 4
"""A model config asking for more parameters (8 GiB of float32) is refused before building."""
MAX_MEMBERS = 2**16
"""An ensemble of more members is refused before building (each member is initialised alone)."""
MAX_SAMPLES = 2**31
"""An evaluation set drawn from a task holds at most this many samples."""
MAX_INT = 2**63 - 1
"""The largest integer torch and numpy hold (seeds, steps and sizes beyond it overflow)."""
MAX_SEED = MAX_INT
"""Seeds are integers in [0, MAX_SEED] (what torch and numpy both take)."""


def check(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")


def is_int(value) -> bool:
    """A Python integer, not a bool (configs are written as JSON, which numpy scalars are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A Python int or float (numpy's float64 is one), not a bool: what a config written as JSON
    may hold."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A real number of Python's or numpy's (numpy's integers too), not a bool: what a
    computation may take."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(name: str, value, integer: bool = False) -> None:
    """A number > 0 (an integer ≥ 1 when ``integer``); bools are refused."""
    if integer:
        check(is_int(value) and value >= 1, name, value, "an integer ≥ 1")
    else:
        check(is_number(value) and math.isfinite(value) and value > 0, name, value, "a finite number > 0")


def check_number(name: str, value, low: float = -math.inf, high: float = math.inf, what: str | None = None,
                 above: bool = False) -> None:
    """A finite number in [low, high] (in (low, high] when ``above``); bools and strings are
    refused."""
    ok = is_number(value) and math.isfinite(value) and (low < value if above else low <= value) and value <= high
    if what is None:
        if math.isinf(high):
            what = "a finite number" + ("" if math.isinf(low) else f" {'>' if above else '≥'} {low:g}")
        else:
            what = f"a finite number in {'(' if above else '['}{low:g}, {high:g}]"
    check(ok, name, value, what)


def check_choice(name: str, value, choices) -> None:
    """One of ``choices`` (a value of the wrong type, even unhashable, is refused the same way)."""
    choices = tuple(choices)
    check(any(isinstance(value, type(c)) and value == c for c in choices), name, value, f"one of {list(choices)}")


def check_bool(name: str, value) -> None:
    check(isinstance(value, bool), name, value, "True or False")


def check_seed(name: str, value) -> None:
    check(is_int(value) and 0 <= value <= MAX_SEED, name, value, "an integer seed in [0, 2**63 - 1]")


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def check_memory(name: str, value, n_bytes: float, what: str, limit: float = MAX_BYTES) -> None:
    """Refuse ``value`` of ``name`` when it asks for more than ``limit`` bytes (``what``: of what)."""
    check(n_bytes <= limit, name, value, f"at most {gib(limit)}; it asks for {gib(n_bytes)} ({what})")


def check_folder(name: str, path) -> Path:
    """Refuse a ``path`` that cannot be a folder: an existing file, a link to nothing, or a
    file where one of its parents should be, naming ``name``. Nothing is made. Returns the
    nearest folder that exists: ``path`` itself, or the parent that the missing ones would
    be made in.

    >>> check_folder("out", "/dev/null/x")
    Traceback (most recent call last):
    ...
    ValueError: out='/dev/null/x' is not allowed: expected a folder that can be made (/dev/null is a file)
    """
    check(isinstance(path, (str, Path)) and str(path) != "", name, path, "a folder path (a str or pathlib.Path)")
    given, p = str(path), Path(path)
    if p.exists():
        check(p.is_dir(), name, given, "a folder (this is a file)")
        return p
    check(not p.is_symlink(), name, given, "a folder (this is a link to nothing)")
    ancestor = p.absolute().parent
    while not ancestor.exists():
        check(not ancestor.is_symlink(), name, given, f"a folder that can be made ({ancestor} is a link to nothing)")
        ancestor = ancestor.parent
    check(ancestor.is_dir(), name, given, f"a folder that can be made ({ancestor} is a file)")
    return ancestor


def make_folder(name: str, path) -> Path:
    """``path`` as an existing folder, made when missing, after ``check_folder``."""
    check_folder(name, path)
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{name}={str(path)!r} is not allowed: expected a folder that can be made ({e})") from None
    return Path(path)
