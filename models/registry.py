"""One registry idiom for everything the toolkit looks up by name: task types, model types,
allocation methods (scorers) and figures. A ``Registry`` is a dict with one way to add (a
name held by another thing is refused, a reserved name cannot be taken) and one way to look
up (an unknown name is refused with the names there are).

>>> shapes = Registry("shape", hint="register yours with shapes.add")
>>> shapes.add("square", 4, reserve=True)
4
>>> shapes.lookup("circle")
Traceback (most recent call last):
...
ValueError: shape='circle' is not allowed: expected one of ['square']; register yours with shapes.add
"""
from __future__ import annotations

from typing import Callable, TypeVar

from .validate import check

T = TypeVar("T")


class Registry(dict):
    """Name -> thing. ``argument``: what a wrong name is called in the refusal (``type``,
    ``method``, ``figure``); ``hint``: what the refusal adds (how to register one's own)."""

    def __init__(self, argument: str, hint: str = ""):
        super().__init__()
        self.argument, self.hint = argument, hint
        self.reserved: set[str] = set()

    def add(self, name: str, value: T, *, reserve: bool = False,
            same: Callable[[object, object], bool] | None = None) -> T:
        """Register ``value`` under ``name``. A name another value holds is refused unless
        ``same(old, value)`` (a re-run notebook cell defining the same class again); a reserved
        name is never taken. ``reserve``: the toolkit's own, which no user's may replace."""
        check(isinstance(name, str) and bool(name), "name", name, "a non-empty string")
        old = self.get(name)
        check(name not in self.reserved or old is value, "name", name,
              f"a name other than the toolkit's own {sorted(self.reserved)}")
        if old is not None and old is not value:
            check(same is not None and same(old, value), "name", name,
                  f"a name nothing else holds ({_describe(old)} holds it); pass name=...")
        self[name] = value
        if reserve:
            self.reserved.add(name)
        return value

    def lookup(self, name, also: tuple[str, ...] = ()) -> object:
        """The thing registered as ``name``; an unknown name is refused with the names there are
        (``also``: names the caller handles itself, listed first)."""
        check(isinstance(name, str) and name in self, self.argument, name,
              f"one of {[*also, *sorted(self)]}" + (f"; {self.hint}" if self.hint else ""))
        return self[name]

    def name_of(self, value, default: str | None = None) -> str | None:
        """The name ``value`` is registered under (``default`` if none)."""
        return next((k for k, v in self.items() if v is value), default)


def _describe(value) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    fn = getattr(value, "fn", value)
    return getattr(fn, "__qualname__", type(value).__name__)
