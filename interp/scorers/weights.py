"""The ``weights`` scorer: from a zoo MLP's weights alone, the share of each neuron's input
variance that comes from each subtask's inputs."""
from __future__ import annotations

import torch

import probes
from models.validate import check

from ..evaluation import input_groups
from .registry import ScoreContext, Scores, register_scorer


@register_scorer("weights", 0.05, "share of the neuron's input variance from each subtask's inputs", options=())
def weights_scorer(ctx: ScoreContext) -> Scores:
    model, task, pieces = ctx.model, ctx.task, ctx.pieces
    weights = probes.mlp_weights(model)
    check(weights is not None, "method", "weights",
          f"a zoo MLP or Ensemble (layers of weights to read); {type(model).__name__} has none: "
          "use 'ablation' or 'attribution'")
    groups = input_groups(task)
    check(groups is not None, "method", "weights",
          f"a task whose subtasks read known input groups (define task.input_groups); {task!r} has none")
    K = len(task.subtasks)
    check(len(groups) == K, "task", task, f"input_groups with one group per subtask ({K})")
    members = ctx.members
    d_in = weights[0].shape[-2]
    member_of = torch.zeros(d_in, K, dtype=torch.float64)
    for k, grp in enumerate(groups):
        for i in grp:
            check(0 <= i < d_in, "input_groups", groups, f"input indices in [0, {d_in})")
            member_of[i, k] = 1.0
    xs = probes.Moments(d_in)
    for batch in pieces:
        xs.update(batch.x.reshape(-1, d_in))
    var_in = xs.var  # [d_in]
    share_prev = member_of if members is None else member_of.expand(members, d_in, K)
    var_prev = var_in if members is None else var_in.expand(members, d_in)
    hidden = [f"hidden.{i}" for i in range(len(weights) - 1)]
    variance = ctx.base["var"]
    out = {}
    for site, w in zip(hidden, weights[:-1]):
        contrib = w.double().square() * var_prev.unsqueeze(-1)  # [(M,) fan_in, fan_out]
        denom = contrib.sum(-2)  # [(M,) fan_out]
        share = (contrib.transpose(-1, -2) @ share_prev) / denom.unsqueeze(-1).clamp_min(1e-300)
        share = torch.where(denom.unsqueeze(-1) > 0, share, torch.zeros_like(share))
        out[site] = share
        share_prev = share
        if site in variance:
            var_prev = variance[site]
        else:
            var_prev = probes.capture(model, (b.x for b in pieces), sites=[site], stats=("var",))[site].var
    for s in ctx.sites:
        check(s in out, "sites", s, f"sites of the MLP's hidden layers ({hidden}) for method='weights'")
    return Scores({s: out[s] for s in ctx.sites})
