"""The task registry: every task type by name, what ``Task.from_config`` (and so
``models.load``) builds. ``register_task`` adds a task of one's own; the toolkit's own tasks are
registered with ``register_built_in``, which reserves their names."""
from __future__ import annotations

import importlib
from dataclasses import is_dataclass

from ..registry import Registry
from ..validate import check
from .contract import Task

TASKS = Registry("type", hint="a task of your own loads once your code has registered it (models.register_task); "
                         "loading never imports code that a file names")
"""Every registered task type by name: what ``Task.from_config`` (and so ``models.load``) builds.
Read it through ``task_types()``, which makes sure the toolkit's own tasks are all in it."""
BUILT_IN = TASKS.reserved
"""The names of the toolkit's own tasks, which a task of one's own may not take."""
OWN_TASK_MODULES = ("data_task", "token_task", "skill_tokens")
"""The modules of ``models`` (beside this package) that define and register tasks: ``task_types()``
imports them, so no caller has to import them first for their tasks to load."""


def task_types() -> Registry:
    """``TASKS``, with the toolkit's own task modules (``OWN_TASK_MODULES``) imported so that
    every built-in task is in it: what looking up and listing task types read.

    >>> {"Square", "DataTask", "TokenTask"} <= set(task_types())
    True
    """
    for name in OWN_TASK_MODULES:  # they import this package, so they are loaded when first needed
        importlib.import_module(f"..{name}", __package__)
    return TASKS


def register_task(cls: type | None = None, *, name: str | None = None):
    """Register a ``Task`` subclass under ``name`` (default: the class name), so that a
    checkpoint holding such a task loads once the code defining it has run. Use it as a
    decorator (``@register_task`` or ``@register_task(name="...")``). Loading never imports
    the code a file names: a checkpoint whose task type is not registered is refused with the
    name to register.

    The class must be a dataclass whose fields are JSON values (numbers, strings, bools,
    None, tuples of them), which is what ``to_config`` writes and ``from_config`` reads back,
    unless it defines ``to_config`` and ``from_fields`` itself. Registering a name again with
    a class of the same module and name (a re-run notebook cell) replaces it; a built-in name
    or another class's name is refused.

    >>> from dataclasses import dataclass
    >>> from models.tasks import Square
    >>> @register_task
    ... @dataclass(frozen=True)
    ... class Halves(Square):
    ...     pass
    >>> Task.from_config({"type": "Halves", "low": 0.0, "high": 0.5})
    Halves(low=0.0, high=0.5)
    """
    def add(c):
        return _register(c, name)

    return add if cls is None else add(cls)


def register_built_in(cls):
    """Register one of the toolkit's own tasks (its name is then reserved)."""
    return _register(cls, None, reserve=True)


def _same_class(old: type, new: type) -> bool:
    """Whether ``new`` is ``old`` defined again (a re-run notebook cell): same module and name."""
    return (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)


def _register(c, name: str | None, reserve: bool = False):
    """Check ``c`` as ``register_task`` does and add it to ``TASKS`` under ``name`` (default: its
    class name); ``reserve``: one of the toolkit's own. A taken or reserved name is refused here
    in the words of tasks ("built-in", "no other task holds") before ``TASKS.add`` records it."""
    check(isinstance(c, type) and issubclass(c, Task), "cls", c, "a subclass of models.tasks.Task")
    key = c.__name__ if name is None else name
    check(isinstance(key, str) and key.isidentifier(), "name", key, "a Python identifier")
    check(key not in TASKS.reserved or TASKS.get(key) is c, "name", key,
          f"a name other than the built-in tasks' {sorted(TASKS.reserved)}")
    old = TASKS.get(key)
    if old is not None and old is not c:
        check(_same_class(old, c), "name", key,
              f"a name no other task holds ({old.__module__}.{old.__qualname__} holds it); pass name=...")
    overrides = c.to_config is not Task.to_config and c.from_fields.__func__ is not Task.from_fields.__func__
    check(is_dataclass(c) or overrides, "cls", c.__name__,
          "a dataclass (its fields are what to_config writes), or a class defining to_config and from_fields")
    return TASKS.add(key, c, reserve=reserve, same=_same_class)



def registered_name(cls: type) -> str:
    """The name ``cls`` is registered under (its class name when it is not registered)."""
    return TASKS.name_of(cls, cls.__name__)
