"""What the figures' recipes declare: the α × seeds sweeps they train (their runs kept under the
output folder's ``_runs``, one folder per run named by its content hash, so a run two figures
share is trained once) and the budget ladder between the quick recipe and the papers' settings
(``Ladder``, run by ``interp.figures.ladder``).

>>> SweepRecipe(alphas=(4.0,), seeds=(0,), steps=100, decay_every=50).train().lr_decay_every
50
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import models
from models.validate import check

from ..experiments.alpha_sweep import alpha_grid as grid, sweep_alpha
from ..experiments.execution import execute


def runs_dir(out_dir) -> Path:
    """Where the figures of one output folder keep their training runs (one folder per run,
    named by its content hash): a run that two figures share is trained once."""
    return Path(out_dir) / "_runs"


@dataclass(frozen=True)
class SweepRecipe:
    """An α × seeds sweep: Adam lr 0.01 × 0.3 every ``decay_every`` of ``steps`` steps, batch
    500 fresh samples, λ1 = 1e-4, λ2 = 5e-4 (SPEC A), history at 10 log-spaced steps."""

    alphas: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    decay_every: int

    def train(self):
        return models.TrainConfig(steps=self.steps, lr_decay_every=self.decay_every, progress=False, eval_points=10)


def alpha_grid(task, net, recipe: SweepRecipe):
    """The runs of ``recipe``'s α × seeds sweep of MLPs shaped ``net`` on ``task``
    (``interp.experiments.alpha_sweep.alpha_grid``; α sorted, each once)."""
    return grid(task, net, sorted(set(recipe.alphas)), recipe.seeds, recipe.train())


def train_runs(out_dir, sweep, device="cpu"):
    """Train the runs of ``sweep`` under ``runs_dir(out_dir)`` that are not there yet (in this
    process; ``interp reproduce`` has trained them already when it ran every figure's
    sweeps first). Returns the sweep's table."""
    return execute(sweep, runs_dir(out_dir), device=device, progress=False)


def alpha_sweep(out_dir, task, net, recipe: SweepRecipe, device="cpu"):
    """``interp.sweep_alpha`` over the runs of ``alpha_grid``, kept under ``runs_dir(out_dir)``
    (trained there unless done already)."""
    return sweep_alpha(task, net, sorted(set(recipe.alphas)), recipe.seeds, recipe.train(),
                       checkpoint=runs_dir(out_dir), device=device)


@dataclass(frozen=True)
class Departure:
    """One way a recipe departs from the paper's text: the recipe ``field``, the value the paper
    states (``paper``), ours, and why. A figure lists them beside its recipes in
    ``DEPARTURES = {"QUICK": (...), "FULL": (...)}``."""

    field: str
    paper: Any
    ours: Any
    reason: str

    def __post_init__(self):
        check(isinstance(self.field, str) and self.field, "field", self.field, "a recipe field name")
        check(isinstance(self.reason, str) and self.reason.strip(), "reason", self.reason, "a stated reason")


CPU_BUDGET = "a 2-core CPU budget"
QUICK_SCHEDULE = (
    Departure("steps", 100_000, 20_000, CPU_BUDGET),
    Departure("decay_every", 20_000, 4000, "scaled with the steps, so the learning rate falls four times (× 0.3 "
                                           "each) as in the paper's 100 000-step recipe"),
)
"""The quick x² recipes' schedule against the paper's 100 000 steps decayed every 20 000."""


@dataclass(frozen=True)
class Ladder:
    """``axis``: the recipe field the budget grows along; ``rungs``: its values, cheapest
    first (the quick recipe's first); ``note``: what the disagreements blame on it;
    ``along``: ``(field, values)`` pairs of other fields that move with the rungs, one value
    per rung (a ladder on the recipe path moves every axis the full recipe moves: width, steps
    and seeds together, say); ``fixed``: ``(field, value)`` pairs every rung sets, whatever
    the quick recipe has (the paper's learning-rate decay interval, say)."""

    axis: str
    rungs: tuple
    note: str = ""
    fixed: tuple = ()
    along: tuple = ()

    def __post_init__(self):
        check(isinstance(self.axis, str) and self.axis, "axis", self.axis, "a recipe field name")
        check(isinstance(self.rungs, tuple) and len(self.rungs) >= 2, "rungs", self.rungs,
              "a tuple of at least two values, cheapest first")
        check(isinstance(self.fixed, tuple) and all(isinstance(f, tuple) and len(f) == 2 and isinstance(f[0], str)
                                                     and f[0] != self.axis for f in self.fixed),
              "fixed", self.fixed, "a tuple of (field, value) pairs other than the axis")
        taken = {self.axis, *(f[0] for f in self.fixed)}
        check(isinstance(self.along, tuple) and all(
            isinstance(f, tuple) and len(f) == 2 and isinstance(f[0], str) and f[0] not in taken
            and isinstance(f[1], tuple) and len(f[1]) == len(self.rungs) for f in self.along)
              and len({f[0] for f in self.along}) == len(self.along),
              "along", self.along, f"a tuple of (field, values) pairs, {len(self.rungs)} values each, for "
                                   "fields other than the axis and the fixed ones, each once")

    def moves(self, i: int) -> dict:
        """The fields rung ``i`` sets: the axis and the ``along`` fields."""
        return {self.axis: self.rungs[i], **{f: values[i] for f, values in self.along}}


def rung_recipe(quick, ladder: Ladder, i: int):
    """The quick recipe with ``ladder.axis`` and its ``along`` fields set to rung ``i``'s
    values and the ladder's ``fixed`` fields set; where a rung moves ``steps`` or ``epochs``,
    a decay interval the ladder neither fixes nor moves keeps its share of the run (an LM
    study's removal tokens keep their share of its tokens).

    >>> q = SweepRecipe(alphas=(4.0,), seeds=(0,), steps=20_000, decay_every=4000)
    >>> lad = Ladder("steps", (20_000, 100_000), along=(("seeds", ((0,), (0, 1, 2))),))
    >>> r = rung_recipe(q, lad, 1); (r.steps, r.decay_every, r.seeds)
    (100000, 20000, (0, 1, 2))
    """
    check(isinstance(i, int) and 0 <= i < len(ladder.rungs), "rung", i, f"an index in [0, {len(ladder.rungs)})")
    fields = {f.name for f in dataclasses.fields(quick)}
    check(ladder.axis in fields, "axis", ladder.axis, f"a field of {type(quick).__name__}: {sorted(fields)}")
    moves = ladder.moves(i)
    unknown = sorted(set(moves) - fields)
    check(not unknown, "along", ladder.along, f"fields of {type(quick).__name__}: {sorted(fields)}")
    fixed = dict(ladder.fixed)
    unknown = sorted(set(fixed) - fields)
    check(not unknown, "fixed", ladder.fixed, f"fields of {type(quick).__name__}: {sorted(fields)}")
    changes: dict[str, Any] = {**moves, **fixed}
    for length, share in _SHARE.items():
        if length in moves and share in fields and share not in changes:
            changes[share] = max(1, round(getattr(quick, share) * moves[length] / getattr(quick, length)))
    return dataclasses.replace(quick, **changes)


_SHARE = {"steps": "decay_every", "epochs": "decay_epochs", "tokens": "removal_tokens"}
"""A length axis and the field that keeps its share of it, unless the ladder fixes it: the
learning-rate decay interval of a run, the tokens an LM study's removal curves are measured on."""
