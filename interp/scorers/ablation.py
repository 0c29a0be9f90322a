"""Exact mean ablation: ``exact_ablation`` replaces neurons by their means, one at a time or in
blocks, and records each sample's loss change; ``Meter`` counts its work in passes over the
evaluation set and ``block_shares`` prices one neuron; the ``ablation`` scorer measures every
live neuron this way. ``joint_ablation_losses`` gives the losses with a set of neurons ablated
together (``ranked_neurons`` orders a subtask's neurons by score, ``pooled_loss`` pools the
losses)."""
from __future__ import annotations

import numpy as np
import torch

import probes
import probes.cuts

from ..uncertainty import Deltas
from .passes import output_of, progress_bar, sample_size
from .registry import ScoreContext, Scores, register_scorer


class Meter:
    """The work of exact ablation in passes over the evaluation set (a neuron measured on every
    sample by running every block counts 1; one of block l of L blocks counts (L−l)/L, as
    ``block_shares`` says), and seconds; ``spent`` once ``seconds`` (None: no limit) have gone."""

    def __init__(self, total: int, seconds: float | None = None):
        import time

        self.total, self.seconds = max(total, 1), seconds
        self.passes, self.start, self._clock = 0.0, time.perf_counter(), time.perf_counter

    def charge(self, size: int, share: float) -> None:
        self.passes += size * share / self.total

    @property
    def elapsed(self) -> float:
        return self._clock() - self.start

    @property
    def spent(self) -> bool:
        return self.seconds is not None and self.elapsed >= self.seconds



def _split(act: torch.Tensor, members: int | None, copies: int) -> torch.Tensor:
    """``[(M,) copies·B, ...]`` -> ``[(M,) copies, B, ...]``."""
    ax = 1 if members is not None else 0
    b = act.shape[ax] // copies
    return act.reshape(*act.shape[:ax], copies, b, *act.shape[ax + 1:])


def exact_ablation(ctx: ScoreContext, ids: dict[str, torch.Tensor], *, pieces=None,
                   stats: dict[str, Deltas] | None = None, meter: Meter | None = None,
                   skip: bool = True, joint: bool = False) -> dict[str, Deltas]:
    """Mean-ablate each neuron ``ids[site]`` in turn over ``pieces`` (default ``ctx.pieces``)
    and add its per-sample loss changes to ``stats[site]`` (new ones by default). ``joint``:
    ``ids[site]`` is a list of blocks (index tensors), each block's neurons ablated together,
    and ``stats[site]``'s rows are the blocks. Per piece, one
    normal pass records the input of each block holding a site; then each chunk of neurons of
    one site runs side by side (``ctx.max_elements`` bounds a chunk) from that block on
    (``probes.cuts``), or, at a zoo MLP's last hidden layer, through its linear read-out alone.
    ``skip=False`` runs the whole model for each chunk (the reference). ``meter`` counts the
    work and stops it when spent."""
    model, task, members = ctx.model, ctx.task, ctx.members
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    pieces = ctx.pieces if pieces is None else pieces
    if stats is None:
        stats = {s: Deltas(lead, len(ids.get(s) or ()) if joint else ctx.base["mean"][s].shape[-1], K)
                 for s in ctx.sites}
    rows = {s: (torch.arange(len(ids[s])) if joint else ids[s]) for s in ctx.sites if ids.get(s) is not None}
    sites = [s for s in ctx.sites if s in rows and rows[s].numel()]
    if not sites:
        return stats
    cut = probes.cuts.block_list(model, sites) if skip else None
    readout = _linear_readout(model)
    share = block_shares(model, sites, skip)
    chunk = None
    with progress_bar(len(pieces) * sum(rows[s].numel() for s in sites), "ablation", ctx.progress) as bar:
        for batch in pieces:
            if meter is not None and meter.spent:
                break
            kept = {}
            keep = [readout[0]] if readout is not None and readout[0] in sites else []
            with torch.no_grad(), probes.attached(model, keep, lambda s, a: kept.__setitem__(s, a)):
                if cut is not None:
                    out, streams = probes.cuts.capture_inputs(cut, model, batch.x, [cut.index[s] for s in sites])
                else:
                    out, streams = model(batch.x), {}
            pred = output_of(out)
            if chunk is None:
                biggest = max([pred.numel(), *(4 * t.numel() for t in streams.values())])
                chunk = max(1, min(512, ctx.max_elements // max(2 * biggest, 1)))
            base_l, w = task.sample_losses(pred, batch, len(lead))     # [(M,) B, K], [B, K]
            size = sample_size(batch)
            for site in sites:
                mu = ctx.base["mean"][site].float()  # [(M,) d]
                for part in rows[site].split(chunk):
                    if meter is not None and meter.spent:
                        break
                    mask = _masks([ids[site][i] for i in part] if joint else part.unsqueeze(1), mu.shape[-1])
                    if readout is not None and site == readout[0]:
                        ablated = _ablate_readout(pred, kept[site], mu, readout[1], None if joint else part, members,
                                                  mask)
                    elif cut is not None:
                        l = cut.index[site]
                        with probes.cuts.resumed(cut, l, streams[l], copies=part.numel()):
                            ablated = _ablate_forward(model, batch.x, site, mu, mask, members)
                    else:
                        ablated = _ablate_forward(model, batch.x, site, mu, mask, members)
                    losses, _ = task.sample_losses(ablated, batch, len(lead) + 1)   # [(M,) J, B, K]
                    stats[site].add(part, losses - base_l.unsqueeze(-3), base_l, w)
                    if meter is not None:
                        meter.charge(size * part.numel(), share[site])
                    bar.update(part.numel())
    return stats


def live_ids(ctx: ScoreContext) -> dict[str, torch.Tensor]:
    """Per site, the indices of the neurons live in the model (in some member of an ensemble)."""
    return {s: (ctx.live[s] if ctx.members is None else ctx.live[s].any(0)).nonzero().flatten() for s in ctx.sites}


def ablation_deltas(ctx: ScoreContext, ids: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Exact mean-ablation scores ``[(M,) n, K]`` of the neurons ``ids[site]`` (default: the
    live ones; the others score 0) over every piece (see ``exact_ablation``)."""
    stats = exact_ablation(ctx, live_ids(ctx) if ids is None else ids)
    return {s: stats[s].score() for s in ctx.sites}


def _linear_readout(model) -> tuple[str, torch.Tensor] | None:
    """(last hidden site, its read-out weights ``[(M,) d, d_out]``) of a zoo MLP, whose output
    is linear in that site: ablating there needs no forward pass."""
    weights = probes.mlp_weights(model)
    if weights is None:
        return None
    return f"hidden.{len(weights) - 2}", weights[-1]


def _masks(blocks, d: int) -> torch.Tensor:
    """``[J, d]``: row j is 1 at the neurons of ``blocks[j]`` (index tensors), else 0."""
    mask = torch.zeros(len(blocks), d)
    for j, b in enumerate(blocks):
        mask[j, torch.as_tensor(b, dtype=torch.long).reshape(-1)] = 1.0
    return mask


def _ablate_readout(pred, act, mu, w_out, ids, members, mask=None) -> torch.Tensor:
    """Outputs with each neuron of ``ids`` in turn (or each row of ``mask [J, d]``'s neurons
    together, when ``ids`` is None) set to its mean: ``[(M,) J, B, d_out]``."""
    if ids is None:
        delta = (mu.to(act.device).unsqueeze(-2) - act).to(pred.dtype)                  # [(M,) B, d]
        change = torch.einsum("...bd,jd,...do->...jbo", delta, mask.to(pred.dtype), w_out.to(pred.dtype))
        return pred.unsqueeze(-3) + change
    ids = ids.to(act.device)
    delta = (mu.to(act.device)[..., ids].unsqueeze(-2) - act[..., ids]).to(pred.dtype)  # [(M,) B, J]
    change = delta.unsqueeze(-1) * w_out.to(pred.device)[..., ids, :].unsqueeze(-3).to(pred.dtype)  # [(M,) B, J, o]
    return (pred.unsqueeze(-2) + change).movedim(-2, -3)


def _ablate_forward(model, x, site, mu, mask, members) -> torch.Tensor:
    """Outputs with the neurons of each row of ``mask [J, d]`` set to their means (one neuron a
    row for single ablations), from J copies of the batch run side by side: ``[(M,) J, B, ...]``."""
    from einops import repeat

    J, d = mask.shape
    lead = (members,) if members is not None else ()

    def swap(s, act):
        a = _split(act, members, J)  # [(M,) J, B, ..., d]
        extra = a.dim() - len(lead) - 3  # axes between the batch and the neurons
        m = mask.reshape(J, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        v = mu.reshape(*lead, 1, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        return (a * (1 - m) + v * m).reshape(act.shape)

    xr = repeat(x, "b ... -> (j b) ...", j=J) if J > 1 else x
    with torch.no_grad(), probes.attached(model, [site], swap):
        return _split(output_of(model(xr)), members, J)



def block_shares(model, sites, skip: bool = True) -> dict[str, float]:
    """Per site, the share of a whole forward pass that ablating one of its neurons costs:
    ``(L − l)/L`` at block l of L when the model is made of blocks (``probes.cuts``; not with
    ``skip=False``), a fiftieth at a zoo MLP's read-out layer, else 1."""
    cut = probes.cuts.block_list(model, sites) if skip else None
    readout = _linear_readout(model)
    out = {}
    for s in sites:
        if readout is not None and s == readout[0]:
            out[s] = 0.02
        elif cut is not None:
            out[s] = (len(cut.blocks) - cut.index[s]) / len(cut.blocks)
        else:
            out[s] = 1.0
    return out


@register_scorer("ablation", 0.01, "mean-ablation loss change / subtask loss (exact)", options=())
def ablation_scorer(ctx: ScoreContext) -> Scores:
    stats = exact_ablation(ctx, live_ids(ctx))
    return Scores({s: stats[s].score() for s in ctx.sites},
                  exact={s: ctx.live[s].clone() for s in ctx.sites},
                  stderr={s: stats[s].stderr() for s in ctx.sites},
                  units={s: stats[s].units.clone() for s in ctx.sites})


def ranked_neurons(alloc, k: int) -> list[tuple[str, int]]:
    """Subtask ``k``'s live neurons of ``alloc`` with a finite score, as ``(site, index)``,
    highest score first (ties in site and index order)."""
    sites = list(alloc.sites)
    score = np.concatenate([np.where(alloc.live[s], alloc.scores[s][:, k], -np.inf) for s in sites])
    where = [(s, j) for s in sites for j in range(alloc.scores[s].shape[0])]
    order = np.argsort(-score, kind="stable")[:int(np.isfinite(score).sum())]
    return [where[i] for i in order]


def joint_ablation_losses(model, task, batch, means: dict, neurons, tokens: int = 512) -> np.ndarray:
    """Per sequence of ``batch``, its summed loss and its counted tokens ``[B, 2]`` in its own
    subtask, with ``neurons`` (``(site, index)`` pairs) all set to their means, in pieces of
    about ``tokens`` tokens. ``means[site]``: ``[d]`` arrays or tensors (``Allocation.mean``)."""
    from models.tasks import Batch

    chosen: dict[str, list[int]] = {}
    for site, j in neurons:
        chosen.setdefault(site, []).append(int(j))
    values = {s: torch.as_tensor(np.asarray(means[s]), dtype=torch.float32) for s in chosen}
    masks = {s: torch.zeros(values[s].shape[-1], dtype=torch.bool) for s in chosen}
    for s, ids in chosen.items():
        masks[s][torch.as_tensor(ids, dtype=torch.long)] = True

    def swap(site, act):
        m = masks[site].to(act.device)
        return torch.where(m, values[site].to(act.device, act.dtype), act)

    size = max(1, tokens // batch.x.shape[1])
    out = []
    with torch.no_grad(), probes.attached(model, list(chosen), swap):
        for i in range(0, batch.x.shape[0], size):
            piece = Batch(*(t[i:i + size] for t in batch))
            l, w = task.sample_losses(model(piece.x), piece)                 # [B, K] each
            k = piece.subtask.long().unsqueeze(1)
            out.append(torch.cat([l.double().gather(1, k), w.double().gather(1, k)], 1))
    return torch.cat(out).cpu().numpy()


def pooled_loss(per: np.ndarray) -> float:
    """The mean loss per counted unit of ``joint_ablation_losses``' rows ``[B, 2]``."""
    return float(per[:, 0].sum() / max(per[:, 1].sum(), 1e-30))
