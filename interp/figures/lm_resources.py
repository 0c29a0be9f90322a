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

Quick recipe trades away: 4 sequences of 32 tokens per subtask (512 tokens), 0.4% of the live
neurons (at least 64) verified as candidates and 64 sampled. The full recipe uses 16
sequences of 64 tokens, 2% and 256. Needs the ``lm`` extra (SmolLM2's weights).
"""
from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from . import _kit as fk

NAME = "lm_resources"
SUBTASKS = ("python", "prose", "arithmetic", "counting")


@dataclass(frozen=True)
class Recipe:
    per_subtask: int        # sequences per subtask
    seq_len: int            # tokens per sequence
    candidates: float       # share of live neurons verified in the attribution screen's order
    min_candidates: int
    sample: int             # random non-candidates verified (bounds the missed neurons)
    removal: tuple          # numbers of top neurons removed for the loss curves
    seed: int = 0


QUICK = Recipe(per_subtask=4, seq_len=32, candidates=0.004, min_candidates=64, sample=64,
               removal=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256))
FULL = Recipe(per_subtask=16, seq_len=64, candidates=0.02, min_candidates=256, sample=256,
              removal=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))


# --------------------------------------------------------------------------------------------
# the subtasks' text
# --------------------------------------------------------------------------------------------
TEXT_MODULES = ("torch.nn.modules.module", "torch.optim.lr_scheduler", "torch.utils.data.dataloader",
                "torch.utils.checkpoint")
"""The modules whose source and docstrings are the python and prose text: PyTorch's, whose
version ``constraints.txt`` pins, so the text stays put when the toolkit's own code changes."""


def _sources() -> tuple[str, str]:
    """(python source, docstring prose) of ``TEXT_MODULES``."""
    mods = [importlib.import_module(name) for name in TEXT_MODULES]
    code = "\n\n".join(inspect.getsource(m) for m in mods)
    prose = []
    for m in mods:
        own = [v for v in vars(m).values() if (inspect.isfunction(v) or inspect.isclass(v))
               and getattr(v, "__module__", None) == m.__name__]
        for obj in [m, *own]:
            doc = inspect.getdoc(obj) or ""
            for para in doc.split("\n\n"):
                lines = [ln for ln in para.splitlines() if not ln.lstrip().startswith((">>>", "...", "-", "|"))]
                text = " ".join(ln.strip() for ln in lines)
                if len(text) > 80 and text.count("`") < 4 and text[0].isupper():
                    prose.append(text)
    return code, "\n".join(dict.fromkeys(prose))


def _generated(seed: int) -> tuple[str, list, str, list]:
    """(arithmetic text, answer spans, counting text, counted spans)."""
    g = np.random.default_rng(seed)
    arith, spans = "", []
    for _ in range(400):
        a, b = (int(v) for v in g.integers(10, 100, 2))
        line = f"{a} + {b} = "
        spans.append((len(arith) + len(line), len(arith) + len(line) + len(str(a + b))))
        arith += line + f"{a + b}\n"
    count, cspans = "", []
    for _ in range(60):
        start = int(g.integers(1, 500))
        run = ", ".join(str(start + i) for i in range(12)) + ".\n"
        first = len(str(start)) + 2
        cspans.append((len(count) + first, len(count) + len(run)))
        count += run
    return arith, spans, count, cspans


def _windows(text, tokenizer, seq_len, n, spans=None):
    """``n`` windows of ``seq_len`` tokens spread evenly over ``text``, each with the positions
    (≥ 1) whose token lies inside one of the character ``spans`` (every position when None)."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offs = enc["input_ids"], enc["offset_mapping"]
    starts = np.linspace(0, len(ids) - seq_len, n).astype(int)
    seqs, poss = [], []
    lo = np.array([s for s, _ in spans]) if spans else None
    hi = np.array([e for _, e in spans]) if spans else None
    for s in starts:
        seqs.append(tuple(int(t) for t in ids[s:s + seq_len]))
        if spans is None:
            poss.append(tuple(range(1, seq_len)))
        else:
            inside = [p for p in range(1, seq_len)
                      if ((lo <= offs[s + p][0]) & (offs[s + p][0] < hi)).any()]
            poss.append(tuple(inside) or (seq_len - 1,))
    return tuple(seqs), tuple(poss)


def study_task(tokenizer, per_subtask: int = 4, seq_len: int = 32, seed: int = 0):
    """The study's ``TokenTask``: python, prose, arithmetic (answers count), counting."""
    from models.token_task import TokenTask

    code, prose = _sources()
    arith, aspans, count, cspans = _generated(seed)
    parts = [_windows(code, tokenizer, seq_len, per_subtask), _windows(prose, tokenizer, seq_len, per_subtask),
             _windows(arith, tokenizer, seq_len, per_subtask, aspans),
             _windows(count, tokenizer, seq_len, per_subtask, cspans)]
    return TokenTask(sequences=tuple(p[0] for p in parts), positions=tuple(p[1] for p in parts), names=SUBTASKS,
                     d_vocab=int(len(tokenizer)))


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------
def _ablated_loss(model, task, batch, means, chosen: dict) -> np.ndarray:
    """Subtask losses with the neurons ``chosen[site]`` all set to their means."""
    import probes

    masks = {s: torch.zeros(means[s].shape[-1], dtype=torch.bool) for s in chosen}
    for s, ids in chosen.items():
        masks[s][torch.as_tensor(ids, dtype=torch.long)] = True

    def swap(site, act):
        m = masks[site].to(act.device)
        return torch.where(m, means[site].to(act.device, act.dtype), act)

    with torch.no_grad(), probes.attached(model, list(chosen), swap):
        return task.subtask_losses(model(batch.x), batch).double().numpy()


def _removal(model, task, alloc, batch, means, removal, rng):
    """Per subtask: its loss with its top-n neurons (by score) removed, and with n random live ones."""
    sites = list(alloc.sites)
    flat_live = [(s, j) for s in sites for j in np.flatnonzero(alloc.live[s])]
    out = {}
    for k, name in enumerate(alloc.subtasks):
        score = np.concatenate([np.where(alloc.live[s], alloc.scores[s][:, k], -np.inf) for s in sites])
        order = np.argsort(-score, kind="stable")
        where = [(s, j) for s in sites for j in range(alloc.scores[s].shape[0])]
        sel = batch.subtask == k
        sub = type(batch)(batch.x[sel], batch.y[sel], batch.subtask[sel])
        top, rand = [], []
        pick = rng.permutation(len(flat_live))
        for n in removal:
            chosen, rchosen = {}, {}
            for i in order[:n]:
                s, j = where[i]
                chosen.setdefault(s, []).append(j)
            for i in pick[:n]:
                s, j = flat_live[i]
                rchosen.setdefault(s, []).append(j)
            top.append(float(_ablated_loss(model, task, sub, means, chosen)[k]))
            rand.append(float(_ablated_loss(model, task, sub, means, rchosen)[k]))
        out[name] = {"n": list(removal), "top": top, "random": rand}
    return out


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
    import interp
    from interp.bridge import load_smollm2

    t0 = time.time()
    r = recipe
    bridge = load_smollm2(device=device)
    t_load = time.time() - t0
    task = study_task(bridge.tokenizer, r.per_subtask, r.seq_len, r.seed)
    batch = task.eval_batch(10 ** 6, torch.Generator().manual_seed(r.seed))
    t1 = time.time()
    alloc = interp.allocate(bridge, task, method="verified", inputs=batch, seed=r.seed,
                            options={"candidates": r.candidates, "min_candidates": r.min_candidates,
                                     "sample": r.sample})
    t_alloc = time.time() - t1
    sites = list(alloc.sites)
    layers = alloc.by_layer()
    counts = alloc.counts()
    exclusive = alloc.counts(exclusive=True)
    K = len(alloc.subtasks)
    shared = np.zeros((K, K), dtype=int)
    for s in sites:
        a = alloc.assigned(s).astype(int)
        shared += a.T @ a
    absolute = alloc.rethreshold(live_rule="absolute")
    live_rel = [int(alloc.live[s].sum()) for s in sites]
    live_abs = [int(absolute.live[s].sum()) for s in sites]
    conc = _concentration(alloc)
    # removal curves need the means the allocation ablated to
    import probes
    means = {s: st.mean.float() for s, st in probes.capture(bridge, batch.x, stats=("mean",), batch_size=16).items()}
    t2 = time.time()
    removal = _removal(bridge, task, alloc, batch, means, r.removal, np.random.default_rng(r.seed))
    t_removal = time.time() - t2

    claims, fits = [], {}
    for name in alloc.subtasks:
        N = counts[name]
        rm = removal[name]
        n = np.array(rm["n"], dtype=float)
        loss = np.array([np.nan if v is None else v for v in rm["top"]], dtype=float)
        ok = (n < N) & np.isfinite(loss)
        fit = fk.safe_fit(N - n[ok], loss[ok], n_boot=500) if N > 0 else None
        fits[name] = fit
        claims.append(fk.fit_claim(f"SmolLM2 {name}: exponent of loss vs neurons left as its top neurons go",
                                   fit, -1.0, "-1 (ℓ_k ∝ 1/N_k)", null=0.0))
        half = n <= N / 2
        if N > 0 and half.sum() >= 2 and np.isfinite(loss[half]).all():
            pred = loss[0] * N / (N - n[half])
            ratio = float(loss[half][-1] / pred[-1])
            claims.append(fk.claim(f"SmolLM2 {name}: loss with half its {N} neurons removed / N_k/(N_k−n) law",
                                   1.0, ratio, None, bool(0.5 <= ratio <= 2.0),
                                   f"n = {int(n[half][-1])}; agree: within a factor 2"))
    rnd = {k: (removal[k]["random"][-1] / removal[k]["top"][0]) if removal[k]["top"][0] else None
           for k in alloc.subtasks}
    top = {k: (removal[k]["top"][-1] / removal[k]["top"][0]) if removal[k]["top"][0] else None
           for k in alloc.subtasks}
    notes = alloc.notes

    fig, (a, b, c, d) = fk.figure(4, size=(4.4, 3.6))
    L = np.arange(len(sites))
    for k, name in enumerate(alloc.subtasks):
        a.plot(L, [layers[s][name] for s in sites], marker=".", label=f"{name} ({exclusive[name]})")
    a.plot(L, [layers[s]["shared"] for s in sites], color="k", ls="--", label="shared")
    a.set_xlabel("layer"), a.set_ylabel("neurons serving (exclusively)"), a.legend(fontsize=7)
    a.set_title("A: neurons per subtask and layer")
    b.imshow(shared, cmap="viridis")
    for i in range(K):
        for j in range(K):
            b.text(j, i, str(shared[i, j]), ha="center", va="center", color="w", fontsize=8)
    b.set_xticks(range(K), alloc.subtasks, rotation=30), b.set_yticks(range(K), alloc.subtasks)
    b.set_title("B: neurons serving both")
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
        N = counts[name]
        if N > 1:
            nn = np.linspace(0, N - 1, 200)
            d.plot(nn + 1, N / (N - nn), color=f"C{k}", alpha=0.35, lw=3)
    d.set_xscale("log"), d.set_yscale("log"), d.set_xlabel("neurons removed + 1"), d.set_ylabel("loss / loss(0)")
    d.set_title("D: removal (dotted: random; wide: N/(N−n))"), d.legend(fontsize=7)

    numbers = {"recipe": asdict(r), "task": task.summary(), "losses": dict(zip(alloc.subtasks, alloc.losses)),
               "counts": counts, "exclusive": exclusive, "shared": shared, "by_layer": layers,
               "live_relative": live_rel, "live_absolute": live_abs, "verified": notes, "concentration": conc,
               "removal": removal, "loss_ratio_top": top, "loss_ratio_random": rnd, "fits": fits,
               "seconds": {"load": t_load, "allocate": t_alloc, "removal": t_removal}}
    n_total = sum(v.size for v in alloc.live.values())
    summary = (f"{alloc.n_live} live neurons of {n_total}; serving: "
               + ", ".join(f"{k} {v}" for k, v in counts.items())
               + f"; missed ≤ {notes['missed_upper_95']:.0f} (95%).")
    return fk.finish(out_dir, NAME, fig, numbers, claims, summary, t0)


def sweeps(r: Recipe) -> list:
    return []
