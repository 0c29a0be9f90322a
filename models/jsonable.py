"""One conversion to JSON values, for every file the toolkit writes.

The rule: an object that can be rebuilt from its JSON has ``to_config()`` (settings, not
results) and a ``from_config`` that gives an equal object back, so ``to_config`` is the identity
through a round trip; an object that reports has ``to_dict()``, a one-way result (numbers,
intervals, summaries) read by people and plots, never parsed back into the object.
``jsonable`` turns either, and anything they hold, into plain JSON values.
"""
from __future__ import annotations

import dataclasses
import math


def jsonable(v):
    """``v`` made JSON-ready: dict keys as strings, tuples as lists, arrays and tensors via
    ``tolist()``, result objects via ``to_dict()``, dataclasses (recipes, configs) as their
    fields, non-finite floats as None.

    >>> import numpy as np
    >>> jsonable({1: (np.array([0.5, np.inf]),)})
    {'1': [[0.5, None]]}
    """
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if hasattr(v, "to_dict") and not isinstance(v, type):
        return jsonable(v.to_dict())
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return jsonable({f.name: getattr(v, f.name) for f in dataclasses.fields(v)})
    if hasattr(v, "tolist"):
        return jsonable(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
