"""Beyond the papers: the resource model on a real language model (SmolLM2-135M).

Four subtasks built from text the environment holds or the study generates: ``python``
(source code of PyTorch modules, ``TEXT_MODULES``), ``prose`` (the English of their
docstrings), ``arithmetic`` (generated sums
"a + b = c", only the answer's tokens count) and ``counting`` (generated runs "n, n+1, ...").
SmolLM2's 30 × 1536 MLP neurons are allocated with ``interp.allocate(method="verified")``:
attribution screens every neuron, the top candidates and a random sample of the rest are
mean-ablated exactly, and the sample bounds the serving neurons the screen missed. Reported:

- A: neurons serving each subtask per layer (exclusive; shared ones counted apart);
- B: sharing, the neurons serving both of two subtasks;
- C: concentration, the share of a subtask's total ablation effect carried by its top n neurons;
- D: each subtask's loss as its neurons are mean-ablated in order of their score (top first),
  against the resource model's ℓ_k ∝ 1/N_k read as ℓ_k(n) = ℓ_k(0)·N_k/(N_k − n) with N_k the
  neurons allocated to k, and against removing as many random live neurons; the exponent of
  ℓ_k against the N_k − n neurons left is fitted with a bootstrap 95% interval.

Every count comes with a 95% interval (``Allocation.count_intervals``) and every share with
one built from them; a neuron serves a subtask when its score exceeds the threshold at
false-discovery rate 0.05. Quick recipe: at least 4 096 counted tokens per subtask in
sequences of 64, 0.4% of the live neurons (at least 64) verified as candidates and 256
sampled, sequentially within 8 passes over the tokens. The full recipe: 65 536 tokens per
subtask, 2% and 1 024, no budget (a GPU run, or a CPU night). Needs the ``lm`` extra.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..scorers.ablation import joint_ablation_losses, pooled_loss, ranked_neurons
from .recipes import Ladder
from .claims import claim, fit_claim, safe_fit
from .drawing import figure, finish
from .lm_corpus import SUBTASKS, TEXT_MODULES, study_task  # noqa: F401  (the study's text, imported from here too)

NAME = "lm_resources"


@dataclass(frozen=True)
class Recipe:
    tokens: int             # counted tokens per subtask (at least)
    seq_len: int            # tokens per sequence
    screen: str             # the census's screen: "attribution" or "ig" (interp.census)
    census: int             # the census's first size per subtask (it grows while servers go on)
    region: int             # ranks after the census held in strata (sampled, by Neyman allocation)
    ablations: int          # single-neuron exact ablations per subtask (census, pilots, Neyman draws)
    tail: str               # the ranks beyond the region: "sample" (a stratum) or "groups" (group tests)
    block: int              # tail neurons mean-ablated together in one group test
    clusters: int | None    # tail blocks group-tested, drawn at random (None: every block)
    blocks: int | None      # block ablations per subtask at most (None: no limit; beyond it, open)
    removal: tuple          # numbers of top neurons removed for the loss curves
    removal_tokens: int     # counted tokens per subtask the removal curves are measured on
    seed: int = 0
    boot: int = 1000        # bootstrap draws over sequences for the removal ratios


QUICK = Recipe(tokens=256, seq_len=64, screen="attribution", census=32, region=96, ablations=400, tail="sample",
               block=128, clusters=None, blocks=None, removal=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256), removal_tokens=256)
FULL = Recipe(tokens=65536, seq_len=64, screen="attribution", census=256, region=4096, ablations=16384, tail="sample",
              block=128, clusters=None, blocks=None, removal=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
              removal_tokens=8192)
"""The tail is sampled, not group-tested: on SmolLM2 at τ = 0.01 no block of 128 tail neurons
cleared (96 drawn, 240 block ablations, every one split; non-additivity up to 3.7 τ, and a
known server's block changed the loss by -0.014 where the server alone raised it by 0.012).
A sampled tail's top is about 3.7 × 46 000 / (its draws)."""
LADDER = Ladder("tokens", (4096, 8192, 16384),
                "the removal curves far above N_k/(N_k-n) are blamed on 4 096 of the full recipe's 65 536 counted "
                "tokens per subtask (the removal curves' tokens grow with it); the rungs on file were measured "
                "with the earlier verified method, before the census design")



# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------
def _removal(model, task, alloc, batch, removal, rng, tokens: int):
    """Per subtask, on sequences holding about ``tokens`` of its counted tokens: per sequence,
    its summed loss and counted tokens with the subtask's top-n neurons (by score) removed,
    and with n random live ones (``[len(removal), B, 2]`` each), and the pooled losses; each
    neuron set to the mean the allocation ablated it to."""
    flat_live = [(s, j) for s in alloc.sites for j in np.flatnonzero(alloc.live[s])]
    out = {}
    for k, name in enumerate(alloc.subtasks):
        ranked = ranked_neurons(alloc, k)
        rows = torch.nonzero(batch.subtask == k).flatten()
        held = (batch.y[rows] >= 0).sum(1).cumsum(0)                      # counted tokens so far
        rows = rows[torch.linspace(0, rows.numel() - 1, max(1, min(rows.numel(), int(
            np.ceil(rows.numel() * tokens / max(int(held[-1]), 1)))))).long()]   # spread over the subtask
        sub = type(batch)(batch.x[rows], batch.y[rows], batch.subtask[rows])
        top, rand = [], []
        pick = rng.permutation(len(flat_live))
        for n in removal:
            top.append(joint_ablation_losses(model, task, sub, alloc.mean, ranked[:n]))
            rand.append(joint_ablation_losses(model, task, sub, alloc.mean, [flat_live[i] for i in pick[:n]]))
        out[name] = {"n": list(removal), "top": [pooled_loss(p) for p in top],
                     "random": [pooled_loss(p) for p in rand],
                     "per_sequence_top": np.stack(top), "sequences": int(rows.numel())}
    return out


def removal_ratio(per_sequence: np.ndarray, n: np.ndarray, count, boot: int, seed: int) -> dict | None:
    """The resource model's removal test for one subtask: the loss with its top ``n`` neurons
    removed over ``ℓ(0)·N/(N − n)``, at the largest ``n ≤ N/2`` (``count``: the subtask's
    ``CountEstimate``). Its 95% interval: a bootstrap over the sequences, with ``N`` at its
    estimate, widened to the bootstrap intervals with ``N`` at either end of its own interval.
    None when the count is too small for two points at or below half of it."""
    N = float(count.estimate)
    half = np.flatnonzero(n <= N / 2)
    if N <= 0 or half.size < 2:
        return None
    i = int(half[-1])
    g = np.random.default_rng(seed)
    seqs = per_sequence.shape[1]
    idx = g.integers(0, seqs, size=(boot, seqs))

    def ratios(idx, n_count):
        if n_count <= n[i]:
            return np.full(idx.shape[0], np.inf)
        lo = per_sequence[0][idx]                    # [boot, B, 2]
        hi = per_sequence[i][idx]
        l0 = lo[..., 0].sum(1) / lo[..., 1].sum(1)
        li = hi[..., 0].sum(1) / hi[..., 1].sum(1)
        return li / (l0 * n_count / (n_count - n[i]))

    point = float(ratios(np.arange(seqs)[None], N)[0])
    ends = [np.quantile(ratios(idx, m), [0.025, 0.975]) for m in (N, max(float(count.low), n[i] + 1), float(count.high))]
    return {"n": int(n[i]), "ratio": point, "interval": [float(min(e[0] for e in ends)), float(max(e[1] for e in ends))],
            "sequences": int(seqs)}


def _concentration(alloc) -> dict:
    """Per subtask: the positive scores sorted, the neurons carrying half the total, top-10 share."""
    out = {}
    for k, name in enumerate(alloc.subtasks):
        v = np.concatenate([alloc.scores[s][alloc.live[s], k] for s in alloc.sites])
        v = np.sort(np.clip(v, 0, None))[::-1]
        tot = v.sum()
        cum = np.cumsum(v) / tot if tot > 0 else np.zeros_like(v)
        out[name] = {"cumulative": cum[:4096], "n_half": int(np.searchsorted(cum, 0.5) + 1) if tot > 0 else None,
                     "top10_share": float(cum[9]) if tot > 0 and cum.size >= 10 else None}
    return out


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    """Measure (allocate by the census design, removal curves), state the claims, draw."""
    import interp
    from interp.lm import load_smollm2

    t0 = time.time()
    r = recipe
    bridge = load_smollm2(device=device)
    t_load = time.time() - t0
    task = study_task(bridge.tokenizer, r.tokens, r.seq_len, r.seed)
    batch = task.eval_batch(10 ** 6, torch.Generator().manual_seed(r.seed))
    t1 = time.time()
    alloc = interp.allocate(bridge, task, method="census", inputs=batch, seed=r.seed,
                            options={"screen": r.screen, "census": r.census, "region": r.region,
                                     "ablations": r.ablations, "tail": r.tail, "block": r.block, "clusters": r.clusters,
                                     "blocks": r.blocks})
    t_alloc = time.time() - t1
    estimates = alloc.estimate()
    t2 = time.time()
    removal = _removal(bridge, task, alloc, batch, r.removal, np.random.default_rng(r.seed), r.removal_tokens)
    t_removal = time.time() - t2
    numbers = _numbers(alloc, estimates, removal, r, task)
    claims, fits = _claims(alloc, estimates, removal, r)
    numbers.update(fits=fits, seconds={"load": t_load, "allocate": t_alloc, "removal": t_removal})
    fig = _draw(alloc, estimates, removal)
    notes = alloc.notes
    n_total = sum(v.size for v in alloc.live.values())
    summary = (f"{alloc.n_live} live neurons of {n_total}; neurons whose mean ablation raises the subtask's loss by "
               f"more than {alloc.threshold:g} of it (95% interval): "
               + ", ".join(f"{k} {e.statement}" for k, e in estimates.items())
               + f"; certified one by one at false-discovery rate {alloc.fdr:g}: "
               + ", ".join(f"{k} {v}" for k, v in alloc.counts().items())
               + "; exact ablations (single + block): "
               + ", ".join(f"{k} {c['single_ablations']}+{c['block_ablations']}" for k, c in notes["census"].items())
               + ".")
    return finish(out_dir, NAME, fig, numbers, claims, summary, t0)


def _numbers(alloc, estimates, removal, r, task) -> dict:
    sites = list(alloc.sites)
    K = len(alloc.subtasks)
    shared = np.zeros((K, K), dtype=int)
    for s in sites:
        a = alloc.assigned(s).astype(int)
        shared += a.T @ a
    intervals = {k: (e.low, e.high) for k, e in estimates.items()}
    absolute = alloc.rethreshold(live_rule="absolute")
    census = {k: {x: v for x, v in c.items() if x != "design"} for k, c in alloc.notes["census"].items()}
    return {"recipe": asdict(r), "task": task.summary(), "losses": dict(zip(alloc.subtasks, alloc.losses)),
            "tau": alloc.threshold, "tau_units": alloc.notes["tau_units"],
            "counts": {k: e.estimate for k, e in estimates.items()}, "count_intervals": intervals,
            "estimates": {k: e.to_dict() for k, e in estimates.items()},
            "certified": alloc.counts(), "shares": _shares({k: e.estimate for k, e in estimates.items()}, intervals),
            "fdr": alloc.fdr, "exact_tokens": _exact_tokens(alloc), "exclusive": alloc.counts(exclusive=True),
            "shared": shared, "by_layer": alloc.by_layer(),
            "live_relative": [int(alloc.live[s].sum()) for s in sites],
            "live_absolute": [int(absolute.live[s].sum()) for s in sites],
            "census": census, "design": next(iter(alloc.notes["census"].values()))["design"],
            "screen_seconds": alloc.notes["screen_seconds"], "concentration": _concentration(alloc),
            "removal": {k: {x: v for x, v in rm.items() if x != "per_sequence_top"} for k, rm in removal.items()},
            "loss_ratio_top": {k: (rm["top"][-1] / rm["top"][0]) if rm["top"][0] else None for k, rm in removal.items()},
            "loss_ratio_random": {k: (rm["random"][-1] / rm["top"][0]) if rm["top"][0] else None
                                  for k, rm in removal.items()}}


def _claims(alloc, estimates, removal, r) -> tuple[list, dict]:
    """The resource model's ℓ_k ∝ 1/N_k on SmolLM2: the exponent of the loss against the
    neurons left as the top ones go, and the removal ratio at half of N_k (bootstrap interval)."""
    claims, fits = [], {}
    for k, name in enumerate(alloc.subtasks):
        e = estimates[name]
        N = e.estimate
        rm = removal[name]
        n = np.array(rm["n"], dtype=float)
        loss = np.array([np.nan if v is None else v for v in rm["top"]], dtype=float)
        ok = (n < N) & np.isfinite(loss)
        fit = safe_fit(N - n[ok], loss[ok], n_boot=500) if N > 0 else None
        fits[name] = fit
        claims.append(fit_claim(f"SmolLM2 {name}: exponent of loss vs neurons left as its top neurons go",
                                fit, -1.0, "-1 (ℓ_k ∝ 1/N_k)", null=0.0))
        ratio = removal_ratio(rm["per_sequence_top"], n, e, r.boot, r.seed + k)
        if ratio is not None:
            claims.append(claim(f"SmolLM2 {name}: loss with half its {N:.0f} neurons removed / N_k/(N_k−n) law",
                                1.0, ratio["ratio"], ratio["interval"], bool(0.5 <= ratio["ratio"] <= 2.0),
                                f"n = {ratio['n']}; agree: within a factor 2; interval: bootstrap over "
                                f"{ratio['sequences']} sequences, N_k over its interval [{e.low}, {e.high}]"))
    return claims, fits


def _draw(alloc, estimates, removal):
    sites = list(alloc.sites)
    layers = alloc.by_layer()
    exclusive = alloc.counts(exclusive=True)
    K = len(alloc.subtasks)
    conc = _concentration(alloc)
    fig, (a, b, c, d) = figure(4, size=(4.4, 3.6))
    L = np.arange(len(sites))
    for k, name in enumerate(alloc.subtasks):
        a.plot(L, [layers[s][name] for s in sites], marker=".", label=f"{name} ({exclusive[name]})")
    a.plot(L, [layers[s]["shared"] for s in sites], color="k", ls="--", label="shared")
    a.set_xlabel("layer"), a.set_ylabel("certified neurons (exclusive)"), a.legend(fontsize=7)
    a.set_title("A: certified neurons per subtask and layer")
    names = list(alloc.subtasks)
    est = np.array([estimates[k].estimate for k in names])
    err = np.array([[est[i] - estimates[k].low, estimates[k].high - est[i]] for i, k in enumerate(names)]).T
    b.bar(range(K), est, yerr=err, capsize=4, color=[f"C{i}" for i in range(K)])
    b.set_xticks(range(K), names, rotation=30)
    b.set_ylabel(f"N_k (τ = {alloc.threshold:g} of ℓ_k)")
    b.set_title("B: neurons serving, 95% interval")
    for name in alloc.subtasks:
        cum = conc[name]["cumulative"]
        c.plot(np.arange(1, len(cum) + 1), cum, label=f"{name} (half: {conc[name]['n_half']})")
    c.set_xscale("log"), c.set_xlabel("top n neurons"), c.set_ylabel("share of total effect")
    c.set_title("C: concentration"), c.legend(fontsize=7)
    for k, name in enumerate(alloc.subtasks):
        rm = removal[name]
        n = np.array(rm["n"], dtype=float)
        y = np.array([np.nan if v is None else v for v in rm["top"]])
        yr = np.array([np.nan if v is None else v for v in rm["random"]])
        d.plot(n + 1, y / y[0], marker="o", ms=3, color=f"C{k}", label=name)
        d.plot(n + 1, yr / y[0], ls=":", color=f"C{k}")
        N = estimates[name].estimate
        if N > 1:
            nn = np.linspace(0, N - 1, 200)
            d.plot(nn + 1, N / (N - nn), color=f"C{k}", alpha=0.35, lw=3)
    d.set_xscale("log"), d.set_yscale("log"), d.set_xlabel("neurons removed + 1"), d.set_ylabel("loss / loss(0)")
    d.set_title("D: removal (dotted: random; wide: N/(N−n))"), d.legend(fontsize=7)
    return fig


def _shares(counts: dict, intervals: dict) -> dict:
    """Each subtask's share of the neurons serving some subtask, from the count intervals: the
    share of the intervals' midpoints, and an interval from its low against the others' highs
    to its high against their lows."""
    mid = {k: (lo + hi) / 2 for k, (lo, hi) in intervals.items()}
    total = sum(mid.values())
    out = {}
    for k, (lo, hi) in intervals.items():
        rest_lo = sum(intervals[j][0] for j in intervals if j != k)
        rest_hi = sum(intervals[j][1] for j in intervals if j != k)
        out[k] = {"share": mid[k] / total if total else None,
                  "interval": [lo / (lo + rest_hi) if lo + rest_hi else 0.0, hi / (hi + rest_lo) if hi + rest_lo else 1.0]}
    return out


def _exact_tokens(alloc) -> dict:
    """How many counted tokens the exact scores used: median, smallest and largest over the
    neurons measured exactly."""
    used = np.concatenate([alloc.units[s][alloc.exact[s]] for s in alloc.sites]) if alloc.units else np.array([])
    if used.size == 0:
        return {"neurons": 0}
    return {"neurons": int(used.size), "median": float(np.median(used)), "min": float(used.min()),
            "max": float(used.max())}


def sweeps(r: Recipe) -> list:
    return []
