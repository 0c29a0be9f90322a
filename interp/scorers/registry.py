"""The scorers' contract and registry: what a scorer reads (``ScoreContext``) and answers
(``Scores``), the registered methods by name (``SCORERS``, added to with ``register_scorer``,
read with ``scorer``), and ``check_options``, which refuses a bad ``allocate(options=...)``
setting before any work, by the rules each scorer declares where it registers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from models.registry import Registry
from models.tasks import Task
from models.validate import check


@dataclass(frozen=True)
class ScoreContext:
    """What a scorer may read. ``base``: the first pass's ``mean``/``var`` per site ``[(M,) n]``,
    ``losses [(M,) K]``, ``weight_sum [K]`` (counted units per subtask: tokens, or samples), ``cross`` (probe
    correlations) and ``n_samples``; ``live``: site -> ``bool [(M,) n]``; ``members``: the
    ensemble size or None; ``options``: scorer-specific settings from ``allocate(options=...)``."""

    model: nn.Module
    task: Task
    pieces: list
    sites: list[str]
    base: dict
    live: dict[str, torch.Tensor]
    members: int | None
    threshold: float
    dominance: float
    max_elements: int = 2 ** 24
    progress: bool = True
    seed: int = 0
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    """A scorer's answer: ``scores`` site -> ``[(M,) n, K]``; ``columns`` (None: the task's
    subtasks); ``exact`` site -> ``bool [(M,) n]`` where a score was measured exactly (None:
    all or none, as the method says); ``notes``: anything to record in the result;
    ``stderr`` site -> ``[(M,) n, K]``, each score's standard error over the samples (None:
    not measured); ``units`` site -> ``[n]``, the counted units (tokens or samples) each
    exact score was measured on."""

    scores: dict[str, torch.Tensor]
    columns: tuple[str, ...] | None = None
    exact: dict[str, torch.Tensor] | None = None
    notes: dict = field(default_factory=dict)
    stderr: dict[str, torch.Tensor] | None = None
    units: dict[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class Scorer:
    """A registered method: ``fn(ctx) -> Scores``, its ``default_threshold``, a line on what
    its score ``measures``, the ``options`` it reads (None: not declared, any),
    ``validate(options)``, which refuses a bad setting before any work (None: no check), and
    ``rules``: setting -> ``(allows(value), what is allowed)``, checked for that setting
    whichever method is asked for."""

    name: str
    fn: Callable[[ScoreContext], Scores]
    default_threshold: float
    measures: str
    options: tuple[str, ...] | None = None
    validate: Callable[[dict], None] | None = None
    rules: dict[str, tuple[Callable[[object], bool], str]] = field(default_factory=dict)

    def __call__(self, ctx: ScoreContext) -> Scores:
        return self.fn(ctx)


SCORERS = Registry("method", hint="or a method of your own registered with interp.register_scorer")
"""Every allocation method by name (the toolkit's own are reserved)."""


def register_scorer(name: str, default_threshold: float, measures: str, options: tuple[str, ...] | None = None,
                    validate: Callable[[dict], None] | None = None,
                    rules: dict[str, tuple[Callable[[object], bool], str]] | None = None):
    """Decorator adding ``fn(ctx) -> Scores`` to ``SCORERS`` under ``name`` (``options``: the
    names of the ``allocate(options=...)`` settings it reads, others then refused;
    ``validate(options)``: raises ``ValueError`` on a bad value, called before any work;
    ``rules``: setting -> ``(allows(value), what is allowed)``, see ``check_options``).

    >>> @register_scorer("constant", 0.5, "nothing: every neuron scores 1")
    ... def _constant(ctx):
    ...     return Scores({s: torch.ones(*ctx.live[s].shape, len(ctx.task.subtasks)) for s in ctx.sites})
    >>> "constant" in SCORERS
    True
    >>> del SCORERS["constant"]
    """
    check(isinstance(name, str) and name and name != "auto", "name", name, "a method name other than 'auto'")
    check(isinstance(default_threshold, (int, float)) and math.isfinite(default_threshold), "default_threshold",
          default_threshold, "a finite number")

    check(options is None or (isinstance(options, (tuple, list)) and all(isinstance(o, str) for o in options)),
          "options", options, "None or a tuple of setting names")
    check(rules is None or (isinstance(rules, dict) and all(isinstance(r, tuple) and len(r) == 2 and callable(r[0])
                                                             for r in rules.values())),
          "rules", rules, "None or a dict: setting -> (allows(value), what is allowed)")

    def add(fn):
        SCORERS.add(name, Scorer(name, fn, float(default_threshold), measures, None if options is None else tuple(options),
                                 validate, dict(rules or {})), same=_same_function)
        return fn
    return add


def _same_function(old: Scorer, new: Scorer) -> bool:
    """A re-run of the code that registered ``old`` (a notebook cell): same module and name."""
    return (old.fn.__module__, old.fn.__qualname__) == (new.fn.__module__, new.fn.__qualname__)


def check_options(method: str, options: dict) -> None:
    """Refuse ``allocate(options=...)`` settings that ``method`` (every scorer for ``auto``)
    does not read, or a value that a registered scorer's rule for that setting does not allow
    (whichever method declared it), before any work."""
    chosen = list(SCORERS.values()) if method == "auto" else [scorer(method)]
    if any(s.options is None for s in chosen):
        known = None
    else:
        known = sorted({o for s in chosen for o in s.options})
        unknown = sorted(str(k) for k in options if k not in known)
        check(not unknown, "options", unknown[0] if len(unknown) == 1 else unknown,
              f"settings that method={method!r} reads: {known}" if known else f"no options for method={method!r}")
    rules = {k: rule for s in SCORERS.values() for k, rule in s.rules.items()}
    for k, v in options.items():
        if k in rules:
            ok, allowed = rules[k]
            check(ok(v), f"options['{k}']", v, allowed)
    for s in chosen:
        if s.validate is not None and method != "auto":
            s.validate(options)


def scorer(name: str) -> Scorer:
    """The registered scorer ``name`` (a ``ValueError`` lists the names)."""
    return SCORERS.lookup(name, also=("auto",))
