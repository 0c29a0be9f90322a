"""Attribution: the first-order estimate of each neuron's mean-ablation loss change,
gradient × (mean − activation), or its integral along the path to the mean
(``attribution_sums``), and the ``attribution`` scorer that reports it."""
from __future__ import annotations

import torch

import probes
from models.validate import check, is_int

from ..evaluation import per_sample_subtasks
from ..uncertainty import Deltas
from .passes import output_of, progress_bar
from .registry import ScoreContext, Scores, register_scorer


def attribution_sums(ctx: ScoreContext, path_steps: int = 1) -> dict[str, dict[str, torch.Tensor]]:
    """Per site, first-order estimates ``[(M,) n, K]`` of the mean-ablation loss change
    relative to each subtask's loss: ``signed`` (``Σ g·(mean − a)``, the estimate), its
    ``stderr`` over samples, and ``magnitude`` (``Σ |g·(mean − a)|`` over samples and
    positions, an upper bound on any cancellation, used to rank candidates). One backward pass
    per piece when every sample belongs to one subtask, else one per subtask. ``path_steps``
    > 1: integrated gradients along the path on which every site moves from its activation to
    its mean together, ``g`` averaged over that many midpoints (one clean pass more per piece,
    and that many backward passes)."""
    model, task, members = ctx.model, ctx.task, ctx.members
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    mu = {s: ctx.base["mean"][s] for s in ctx.sites}
    stats = {s: Deltas(lead, mu[s].shape[-1], K) for s in ctx.sites}
    mag = {s: torch.zeros(*lead, mu[s].shape[-1], K, dtype=torch.float64) for s in ctx.sites}
    check(is_int(path_steps) and path_steps >= 1, "path_steps", path_steps, "an integer ≥ 1")
    ts = [0.0] if path_steps == 1 else [(i + 0.5) / path_steps for i in range(path_steps)]
    with progress_bar(len(ctx.pieces), "attribution" if path_steps == 1 else "integrated gradients", ctx.progress) as bar:
        for batch in ctx.pieces:
            clean = {}
            if path_steps > 1:
                with torch.no_grad(), probes.attached(model, ctx.sites, lambda s, a: clean.__setitem__(s, a.detach())):
                    clean_losses, _ = task.sample_losses(output_of(model(batch.x)), batch, len(lead))
            per_sample = per_sample_subtasks(batch)
            summed: dict = {}
            for t in ts:
                zeros, acts = {}, {}

                def tap(site, act, t=t):
                    z = torch.zeros_like(act, requires_grad=True)
                    a0 = clean.get(site, act.detach())
                    zeros[site], acts[site] = z, a0
                    return act + z if t == 0 else act + t * (_gap(a0, mu[site], members)) + z

                with torch.enable_grad(), probes.attached(model, ctx.sites, tap):
                    pred = output_of(model(batch.x))
                    losses, w = task.sample_losses(pred, batch, len(lead))   # [(M,) B, K]: sums, so g·δ is a sum's change
                    order = [s for s in ctx.sites if s in zeros]
                    check(len(order) == len(ctx.sites), "sites", ctx.sites, "sites the forward pass runs through")
                    targets = [losses.sum()] if per_sample else [losses[..., k].sum() for k in range(K)]
                    for k, target in enumerate(targets):
                        grads = torch.autograd.grad(target, [zeros[s] for s in order], retain_graph=k < len(targets) - 1,
                                                    allow_unused=True)
                        for s, g in zip(order, grads):
                            g = torch.zeros_like(acts[s]) if g is None else g.detach() / len(ts)
                            summed[k, s] = g if (k, s) not in summed else summed[k, s] + g
            base = losses.detach() if path_steps == 1 else clean_losses
            for s in order:
                if per_sample:
                    c, a = _contrib(summed[0, s], acts[s], mu[s], members)  # [(M,) B, d]
                    onehot = torch.nn.functional.one_hot(batch.subtask.reshape(-1).cpu(), K).double()  # [B, K]
                    stats[s].add_products(c, onehot, base, w)
                    mag[s] += torch.einsum("...bd,bk->...dk", a, onehot)
                else:
                    for k in range(K):
                        c, a = _contrib(summed[k, s], acts[s], mu[s], members)
                        stats[s].add_column(k, c, base[..., k], w[:, k])
                        mag[s][..., k] += a.sum(-2)
            bar.update(1)
    total = (ctx.base["losses"] * ctx.base["weight_sum"]).unsqueeze(-2).clamp_min(1e-300)   # [(M,) 1, K]: Σ L
    return {"signed": {s: stats[s].score() for s in ctx.sites},
            "stderr": {s: stats[s].stderr() for s in ctx.sites},
            "magnitude": {s: mag[s] / total for s in ctx.sites}}


def _gap(act, mu, members):
    """``mean − act``, the mean broadcast over the batch and positions: ``act``'s shape."""
    lead = 1 if members is not None else 0
    v = mu.reshape(*mu.shape[:-1], *([1] * (act.dim() - lead - 1)), mu.shape[-1]).to(act.device, act.dtype)
    return v - act


def _contrib(g, act, mu, members):
    """``g · (mean − a)`` and its absolute value, summed over positions: ``[(M,) B, d]`` each.
    ``g`` is the gradient of the samples' summed losses, so ``c[b]`` is sample b's summed loss
    change to first order."""
    if g is None:
        g = torch.zeros_like(act)
    lead = 1 if members is not None else 0
    c = g.detach() * _gap(act, mu, members)
    a = c.abs()
    if c.dim() > lead + 2:  # sum over positions
        c = c.reshape(*c.shape[:lead + 1], -1, c.shape[-1]).sum(-2)
        a = a.reshape(*a.shape[:lead + 1], -1, a.shape[-1]).sum(-2)
    return c.double().cpu(), a.double().cpu()


RULES = {"attribution": (lambda v: v in ("signed", "magnitude"), "'signed' or 'magnitude'"),
         "ig_steps": (lambda v: is_int(v) and v >= 1,
                      "an integer ≥ 1 (1: plain attribution; more: integrated gradients to the mean)")}
"""The ``attribution`` scorer's settings and what each allows."""


@register_scorer("attribution", 0.01, "first-order estimate of the mean-ablation loss change / subtask loss",
                 options=("attribution", "ig_steps"), rules=RULES)
def attribution_scorer(ctx: ScoreContext) -> Scores:
    """Gradient × (mean − activation), summed over the samples; ``options["ig_steps"]`` > 1
    integrates the gradient along the path to the mean at that many points (``attribution_sums``)."""
    sums = attribution_sums(ctx, path_steps=ctx.options.get("ig_steps", 1))
    kind = ctx.options.get("attribution", "signed")
    check(kind in ("signed", "magnitude"), "options['attribution']", kind, RULES["attribution"][1])
    return Scores(sums[kind], notes={"attribution": kind}, stderr=sums["stderr"] if kind == "signed" else None)
