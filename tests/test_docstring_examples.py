"""The ``>>>`` examples in the packages' docstrings run and print what they show."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import interp
import models
import probes

MODULES = sorted({m.name for pkg in (interp, models, probes)
                  for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")} | {"interp", "models", "probes"})


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
