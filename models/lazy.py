"""Packages whose names load on first use, so importing them stays light.

>>> import models
>>> "MLP" in dir(models)
True
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable, Mapping, Sequence


def lazy_names(package: str, where: Mapping[str, str], submodules: Sequence[str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: a name in ``where`` (name -> relative module)
    is imported from its module when first asked for and then kept; a name in ``submodules``
    imports that submodule."""
    def __getattr__(name: str):
        if name in submodules:
            return importlib.import_module(f".{name}", package)
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            vars(sys.modules[package])[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(where) | set(submodules))

    return __getattr__, __dir__
