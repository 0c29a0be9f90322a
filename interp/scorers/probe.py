"""The ``probe`` scorer: each neuron's ``|corr|`` with the task's intermediate quantities,
read from the first pass's statistics."""
from __future__ import annotations

from models.validate import check

from .registry import ScoreContext, Scores, register_scorer


@register_scorer("probe", 0.5, "|corr| of the neuron with each of the task's intermediate quantities", options=())
def probe_scorer(ctx: ScoreContext) -> Scores:
    check(ctx.base.get("cross") is not None, "method", "probe",
          f"a task with intermediate quantities (task.intermediates); {ctx.task!r} has none")
    return Scores({s: ctx.base["cross"][s].abs() for s in ctx.sites}, columns=tuple(ctx.base["intermediates"]))
