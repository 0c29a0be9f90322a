"""Neuron accounting on SmolLM2-135M at study sizes: what it costs and how that scales.

Measured side by side in one process (the ``lm`` extra):

1. Exact ablation, per neuron: the path the toolkit had before (written below as the
   reference: for each site and piece a plain forward pass, then one whole forward pass per
   neuron) against ``interp.scorers.exact_ablation`` (the blocks before the neuron run once per
   piece, the rest from the recorded stream, several neurons side by side), on the same 64
   neurons (the attribution screen's top 32 and 32 live ones drawn at random) over the same
   2 048 tokens: seconds per neuron, the ratio, the largest difference of their scores, and
   the FLOP bound (the ratio of multiply-adds: a whole forward against the blocks after the
   neuron's and the unembedding, which an exact ablation must run again).
2. Screen recall against an exhaustive reference: a trained Llama of 4 × 256 MLP neurons,
   every neuron mean-ablated on every token; for the attribution screen and integrated
   gradients along the path to the mean (4 and 8 points), the share of the true servers among
   the screen's top N_k and 2·N_k.
3. ``interp.allocate(method="census")`` on the study's four subtasks (default 256 counted
   tokens per subtask, the census settings ``CENSUS``): per subtask the count, its 95%
   interval and relative half-width, exact ablations spent (single neurons, blocks), the
   census's share of the servers and seconds; peak resident memory.
4. ``interp.allocate`` with default arguments on two short texts of one's own (English and
   French, a few hundred tokens), against one bare forward+backward pass over them.

    python benchmarks/lm_allocation.py [--tokens 256 1024] [--neurons 64] [--json out.json] [--only-ablation]

About 25 minutes on two idle cores at the default tokens (``--only-ablation``: 1, about 7).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import interp  # noqa: E402
import probes  # noqa: E402
from interp.allocation import base_pass  # noqa: E402
from interp.figures.lm_corpus import study_task  # noqa: E402
from interp.scorers import ScoreContext, attribution_sums, exact_ablation, output_of  # noqa: E402
from models.jsonable import jsonable  # noqa: E402
from models.tasks import Batch  # noqa: E402
from models.token_task import TokenTask  # noqa: E402

ENGLISH = ("The river runs past the old mill and under the stone bridge, where children throw bread to the ducks "
           "on summer evenings. In winter the water rises, the path floods, and the village waits for spring. "
           "Most people here have never left the valley, and they speak of the city as a distant, noisy place. ")
FRENCH = ("La rivière passe devant le vieux moulin et sous le pont de pierre, où les enfants jettent du pain aux "
          "canards les soirs d'été. En hiver l'eau monte, le chemin est inondé, et le village attend le printemps. "
          "La plupart des gens d'ici n'ont jamais quitté la vallée et parlent de la ville comme d'un lieu lointain. ")


def rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def pieces_of(task: TokenTask, tokens: int = 512) -> list:
    batch = task.eval_batch(10 ** 9, torch.Generator().manual_seed(0))
    size = max(1, tokens // batch.x.shape[1])
    return [Batch(*(t[i:i + size] for t in batch)) for i in range(0, batch.x.shape[0], size)]


def bare_passes(model, task: TokenTask) -> tuple[float, float]:
    """Seconds of one forward pass and of one forward+backward pass over the task's tokens."""
    pieces = pieces_of(task)
    t0 = time.perf_counter()
    with torch.no_grad():
        for p in pieces:
            task.sample_losses(output_of(model(p.x)), p)
    fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p in pieces:
        model.zero_grad(set_to_none=True)
        losses, _ = task.sample_losses(output_of(model(p.x)), p)
        losses.sum().backward()
    model.zero_grad(set_to_none=True)
    return fwd, time.perf_counter() - t0


def context(model, task, pieces) -> ScoreContext:
    sites = list(probes.resolve_sites(model, None))
    base = base_pass(model, task, pieces, sites, None, None)
    live = {s: interp.neurons.live_mask(base["var"][s], "relative", 1e-3) for s in sites}
    return ScoreContext(model=model, task=task, pieces=pieces, sites=sites, base=base, live=live, members=None,
                        threshold=0.01, dominance=0.1, progress=False)


def reference_ablation(ctx: ScoreContext, ids: dict) -> dict:
    """The path before: per site and piece a plain forward pass, then for each neuron one whole
    forward pass with it set to its mean (one at a time: SmolLM2's logits fill the element
    bound); the per-sample sums of the same ratio ``Σ Δ / Σ L``."""
    out = {}
    for site in ctx.sites:
        if not ids[site].numel():
            continue
        mu = ctx.base["mean"][site].float()
        s1 = torch.zeros(ids[site].numel(), len(ctx.task.subtasks), dtype=torch.float64)
        sl = torch.zeros_like(s1)
        for batch in ctx.pieces:
            with torch.no_grad():
                base_l, _ = ctx.task.sample_losses(output_of(ctx.model(batch.x)), batch)
            for i, j in enumerate(ids[site].tolist()):
                def swap(s, act, _j=j):
                    act = act.clone()
                    act[..., _j] = mu[_j]
                    return act
                with torch.no_grad(), probes.attached(ctx.model, [site], swap):
                    losses, _ = ctx.task.sample_losses(output_of(ctx.model(batch.x)), batch)
                s1[i] += (losses - base_l).double().sum(0)
                sl[i] += base_l.double().sum(0)
        out[site] = s1 / sl
    return out


def ablation_speed(model, tokenizer, n_neurons: int) -> dict:
    whole = study_task(tokenizer, tokens=512, seq_len=64)
    pick = torch.cat([torch.nonzero(whole.subtask == k).flatten()[:8] for k in range(4)])   # 32 × 64 = 2 048 tokens
    task = TokenTask.from_tensors(whole.tokens[pick], whole.lengths[pick], whole.subtask[pick], whole.counted[pick],
                                  names=whole.names, d_vocab=whole.d_vocab)
    pieces = pieces_of(task)
    ctx = context(model, task, pieces)
    mag = attribution_sums(ctx)["magnitude"]
    flat = [(float(mag[s][j].max()), s, j) for s in ctx.sites for j in ctx.live[s].nonzero().flatten().tolist()]
    flat.sort(key=lambda r: -r[0])
    half = n_neurons // 2
    top = flat[:half]
    g = np.random.default_rng(0)
    rand = [flat[i] for i in g.choice(np.arange(half, len(flat)), n_neurons - half, replace=False)]
    rows = {}
    for label, group in (("screen's top", top), ("random live", rand)):
        ids = {s: torch.tensor(sorted(j for _, t, j in group if t == s), dtype=torch.long) for s in ctx.sites}
        t0 = time.perf_counter()
        ref = reference_ablation(ctx, ids)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        new = exact_ablation(ctx, ids)
        t_new = time.perf_counter() - t0
        diff = max(float((new[s].score()[ids[s]] - ref[s]).abs().max()) for s in ref)
        scale = max(float(ref[s].abs().max()) for s in ref)
        layers = sorted(int(s.split(".")[1]) for _, s, _ in group)
        rows[label] = {"neurons": len(group), "layers_median": float(np.median(layers)), "layers": layers,
                       "flop_bound": flop_bound(model.cfg, layers),
                       "seconds_per_neuron_before": t_ref / len(group), "seconds_per_neuron_now": t_new / len(group),
                       "speedup": t_ref / t_new, "max_score_difference": diff, "largest_score": scale}
    t_ref = sum(r["seconds_per_neuron_before"] * r["neurons"] for r in rows.values())
    t_new = sum(r["seconds_per_neuron_now"] * r["neurons"] for r in rows.values())
    return {"tokens": int(task.lengths.sum()), "groups": rows, "speedup": t_ref / t_new}


def flop_bound(cfg, layers: list[int]) -> float:
    """The most an exact ablation of neurons at ``layers`` can save over one whole forward pass
    each, at equal work per multiply-add: a neuron of layer l changes block l's output by a
    rank-one term, so at least blocks l+1 .. L-1 and the unembedding run again at every
    position (attention reads every earlier position). Multiply-adds per token of the linear
    maps, from the model's config: (whole forward) / (the tails)."""
    kv = getattr(cfg, "n_key_value_heads", None) or cfg.n_heads
    attn = cfg.d_model * cfg.d_head * (2 * cfg.n_heads + 2 * kv)          # q, o; k, v
    mlp = (3 if getattr(cfg, "gated_mlp", False) else 2) * cfg.d_model * cfg.d_mlp
    block, unembed = attn + mlp, cfg.d_model * cfg.d_vocab
    whole = cfg.n_layers * block + unembed
    tails = [(cfg.n_layers - 1 - l) * block + unembed for l in layers]
    return len(layers) * whole / sum(tails)


def census_at(model, tokenizer, tokens: int, options: dict) -> dict:
    """``interp.allocate(method="census")`` on the study's four subtasks: per subtask the count,
    its interval and relative half-width, the exact ablations spent (single, block), the
    census's share of the servers (``census_hits / estimate``: the screen's recall at the size
    the census reached) and seconds."""
    task = study_task(tokenizer, tokens=tokens, seq_len=64)
    t_f, t_fb = bare_passes(model, task)
    t0 = time.perf_counter()
    alloc = interp.allocate(model, task, method="census", progress=False, options=options)
    secs = time.perf_counter() - t0
    rows = {}
    for name, e in alloc.estimate().items():
        c = alloc.notes["census"][name]
        rows[name] = {"estimate": e.estimate, "interval": [e.low, e.high], "determined": e.determined,
                      "statement": e.statement,
                      "relative_half_width": max(e.estimate - e.low, e.high - e.estimate) / max(e.estimate, 1e-9),
                      "single_ablations": c["single_ablations"], "block_ablations": c["block_ablations"],
                      "census": c["census"], "census_hits": c["census_hits"],
                      "census_recall": c["census_hits"] / e.estimate if e.estimate else None, "seconds": c["seconds"],
                      "tokens": c["tokens"]}
    return {"tokens_per_subtask": tokens, "positions": int(task.lengths.sum()), "task": task.summary(),
            "seconds": secs, "screen_seconds": alloc.notes["screen_seconds"], "peak_rss_gib": rss_gib(),
            "forward_s": t_f, "forward_backward_s": t_fb, "x_forward": secs / t_f, "subtasks": rows,
            "certified": alloc.counts(), "options": options}


def own_texts(model) -> dict:
    """``interp.allocate`` with default arguments on two short texts of one's own (English and
    French), against one bare forward and one forward+backward pass over them: seconds, the
    method ``auto`` chose, each subtask's estimate as it states it, and the certified neurons."""
    task = TokenTask.from_texts({"english": [ENGLISH * 2], "french": [FRENCH * 2]}, model.tokenizer, model=model)
    t_f, t_fb = bare_passes(model, task)
    t0 = time.perf_counter()
    alloc = interp.allocate(model, task, progress=False)
    secs = time.perf_counter() - t0
    return {"task": task.summary(), "positions": int(task.lengths.sum()), "seconds": secs, "forward_s": t_f,
            "forward_backward_s": t_fb, "x_forward_backward": secs / t_fb, "method": alloc.method,
            "estimates": {name: e.statement for name, e in alloc.estimate().items()}, "counts": alloc.counts()}


def screen_recall(steps: int = 600, n_seq: int = 16) -> dict:
    """Top-k recall of the screens against an exhaustive reference: a trained Llama of 4 layers
    × 256 MLP neurons (``tests/tiny_lms.trained_tiny_llama``), every neuron mean-ablated on every
    token; for each screen, the share of the true servers (τ = 0.01 of ℓ_k) among its top k,
    k = the true count and twice it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from interp.lm import wrap_hf
    from tiny_lms import pattern_task, trained_tiny_llama

    model = wrap_hf(trained_tiny_llama(steps, n_layer=4, d_model=64, d_mlp=256, n_head=4))
    task = pattern_task(32, n_seq=n_seq, seed=99)
    t0 = time.perf_counter()
    truth = interp.allocate(model, task, method="ablation", progress=False, fdr=None)
    t_exact = time.perf_counter() - t0
    pieces = pieces_of(task)
    ctx = context(model, task, pieces)
    out = {"neurons": int(truth.n_live), "exhaustive_seconds": t_exact, "subtasks": {}}
    screens = {}
    for name, steps_ in (("attribution", 1), ("ig", 4), ("ig8", 8)):
        t0 = time.perf_counter()
        screens[name] = (attribution_sums(ctx, path_steps=steps_)["signed"], time.perf_counter() - t0)
    for k, sub in enumerate(truth.subtasks):
        eff = np.concatenate([truth.scores[s][truth.live[s], k] for s in truth.sites])
        servers = eff > 0.01
        row = {"servers": int(servers.sum())}
        for name, (sc, secs) in screens.items():
            est = np.concatenate([sc[s][torch.from_numpy(truth.live[s]), k].numpy() for s in truth.sites])
            order = np.argsort(-est)
            n = int(servers.sum())
            row[name] = {"recall_at_count": float(servers[order[:n]].mean()) if n else None,
                         "recall_at_twice": float(servers[order[:2 * n]].sum() / n) if n else None,
                         "seconds": secs}
        out["subtasks"][sub] = row
    return out


CENSUS = {"census": 48, "region": 1024, "ablations": 192, "block": 128}
"""The census settings the benchmark measures (the study's quick recipe's)."""


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, nargs="+", default=[256])
    ap.add_argument("--neurons", type=int, default=64)
    ap.add_argument("--json", default=None)
    ap.add_argument("--only-ablation", action="store_true", help="stop after the exact-ablation comparison")
    args = ap.parse_args(argv)
    from interp.lm import load_smollm2

    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = load_smollm2()
    out = {"machine": f"{torch.get_num_threads()} threads", "load_s": time.perf_counter() - t0,
           "rss_after_load_gib": rss_gib()}
    if not args.only_ablation:
        out["own_texts"] = own_texts(model)
        o = out["own_texts"]
        print(f"own texts ({o['task']}, {o['positions']} positions): allocate() {o['seconds']:.1f} s = "
              f"{o['x_forward_backward']:.2f} × one forward+backward ({o['forward_backward_s']:.2f} s; forward "
              f"{o['forward_s']:.2f} s); {o['method']}; counts {o['estimates']}; certified {o['counts']}",
              flush=True)
    out["ablation"] = ablation_speed(model, model.tokenizer, args.neurons)
    a = out["ablation"]
    print(f"\nexact ablation over {a['tokens']} tokens, per neuron (before = one whole forward each):")
    print(f"{'neurons':<14} {'n':>3} {'median layer':>12} {'before s':>9} {'now s':>7} {'speed-up':>8} "
          f"{'FLOP bound':>10} {'max |Δscore|':>13}")
    for label, r in a["groups"].items():
        print(f"{label:<14} {r['neurons']:>3} {r['layers_median']:>12.1f} {r['seconds_per_neuron_before']:>9.3f} "
              f"{r['seconds_per_neuron_now']:>7.3f} {r['speedup']:>8.2f} {r['flop_bound']:>10.2f} "
              f"{r['max_score_difference']:>13.2e}")
    every = [l for r in a["groups"].values() for l in r["layers"]]
    print(f"all {len(every)}: speed-up {a['speedup']:.2f}; FLOP bound {flop_bound(model.cfg, every):.2f} (the speed-up "
          f"an exact ablation reaches at the before path's work per multiply-add; beyond it only by doing each "
          f"multiply-add faster)", flush=True)
    if args.only_ablation:
        return out
    out["screens"] = screen_recall()
    print(f"\nscreen recall against exhaustive ablation (trained Llama, {out['screens']['neurons']} neurons, "
          f"exhaustive {out['screens']['exhaustive_seconds']:.1f} s): share of the true servers among a screen's top k")
    for sub, row in out["screens"]["subtasks"].items():
        print(f"  {sub:<8} servers {row['servers']:>4}: " + "; ".join(
            f"{n} k=N {r['recall_at_count']:.2f}, k=2N {r['recall_at_twice']:.2f} ({r['seconds']:.1f} s)"
            for n, r in row.items() if isinstance(r, dict) and r["recall_at_count"] is not None))
    out["census"] = []
    print(f"\n{'tokens/subtask':>14} {'subtask':>10} {'N_k [95%]':>22} {'±rel':>6} {'single':>7} {'blocks':>7} "
          f"{'census recall':>13} {'s':>7}")
    for tokens in args.tokens:
        r = census_at(model, model.tokenizer, tokens, dict(CENSUS))
        out["census"].append(r)
        for sub, c in r["subtasks"].items():
            rec = "-" if c["census_recall"] is None else f"{c['census_recall']:.2f}"
            print(f"{tokens:>14} {sub:>10} {c['statement']:>22} {c['relative_half_width']:>6.2f} "
                  f"{c['single_ablations']:>7} {c['block_ablations']:>7} {rec:>13} {c['seconds']:>7.0f}")
        print(f"{'':>14} all: {r['seconds']:.0f} s ({r['x_forward']:.0f} × one forward over the tokens; screen "
              f"{r['screen_seconds']:.0f} s), peak {r['peak_rss_gib']:.2f} GiB; certified one by one: {r['certified']}",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(jsonable(out), indent=1))
    return out


if __name__ == "__main__":
    main()
