"""How far attribution, and the verified method, agree with exact mean ablation.

Two models:

- a trained small transformer: a 2-layer GPT-2 shape (d_model 64, 256 MLP neurons per layer,
  512 in all) trained here for ``--steps`` Adam steps on three synthetic token subtasks
  (``count``: consecutive ids; ``repeat``: six random tokens, then the same six again;
  ``bigram``: a fixed sparse Markov chain); every live neuron is ablated exactly;
- SmolLM2-135M (the ``lm`` extra) on four subtasks built from text (Python source, English
  prose, arithmetic, counting); a random sample of ``--neurons`` live neurons is ablated exactly.

For each, per subtask: Spearman's rank correlation of the scores with the exact ablation
scores, and the overlap (Jaccard) of the neurons each assigns at the default thresholds, for
``attribution`` as it was (sums of |g·(mean − a)|), ``attribution`` now (the signed sum, the
first-order estimate of the same loss change) and ``verified`` (attribution screen, then exact
ablation of the top candidates and a random sample).

    python benchmarks/method_agreement.py [--steps 600] [--neurons 200] [--candidates 0.002] [--sample 64]
                                          [--skip-smollm2] [--json out.json]

About 2 minutes for the small transformer and 4 for SmolLM2 on two idle cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # tiny_lms: small Hugging Face models

import interp  # noqa: E402
from interp.allocation import base_pass  # noqa: E402
from interp.neurons import live_mask, live_rule_for  # noqa: E402
from interp.scorers import ScoreContext, ablation_deltas  # noqa: E402
from models.token_task import TokenTask  # noqa: E402

VOCAB = 64


def synthetic_task(n_per: int = 48, length: int = 16, seed: int = 0) -> TokenTask:
    g = np.random.default_rng(seed)
    count = [tuple(int((s + i) % (VOCAB - 8)) + 8 for i in range(length)) for s in g.integers(0, VOCAB, n_per)]
    repeat = []
    for _ in range(n_per):
        six = g.integers(8, VOCAB, 6).tolist()
        repeat.append(tuple([1] + six + [2] + six + [3])[:length])
    nxt = {v: g.choice(np.arange(8, VOCAB), 2, replace=False) for v in range(8, VOCAB)}
    bigram = []
    for _ in range(n_per):
        v, seq = int(g.integers(8, VOCAB)), []
        for _ in range(length):
            seq.append(v)
            v = int(nxt[v][0] if g.random() < 0.8 else nxt[v][1])
        bigram.append(tuple(seq))
    return TokenTask(sequences=(tuple(count), tuple(repeat), tuple(bigram)), names=("count", "repeat", "bigram"),
                     d_vocab=VOCAB)


def trained_gpt2(task: TokenTask, steps: int, seed: int = 0):
    from interp.lm import wrap_hf
    from tiny_lms import tiny_gpt2

    hf = tiny_gpt2(n_layer=2, n_embd=64, n_head=4, n_inner=256, vocab_size=VOCAB, n_positions=32, seed=seed)
    hf.train()
    opt = torch.optim.Adam(hf.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        batch = task.sample(32, g)
        loss = task.subtask_losses(hf(batch.x).logits, batch).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    hf.eval()
    return wrap_hf(hf), float(loss)


def compare(model, task, inputs, sample: int | None, seed: int = 0, verify: dict | None = None) -> dict:
    """Scores of every method on the same neurons; exact ablation on all live ones or on a
    random ``sample`` of them."""
    t0 = time.time()
    kw = dict(inputs=inputs, progress=False, seed=seed)
    before = interp.allocate(model, task, method="attribution", options={"attribution": "magnitude"}, **kw)
    after = interp.allocate(model, task, method="attribution", **kw)
    t_attr = time.time() - t0
    t0 = time.time()
    verified = interp.allocate(model, task, method="verified", options=verify, **kw)
    t_ver = time.time() - t0
    # exact ablation on the live neurons, or a random sample of them
    sites = list(after.sites)
    if sample is None:
        mask = {s: after.live[s] for s in sites}
    else:
        flat = [(s, j) for s in sites for j in np.flatnonzero(after.live[s])]
        pick = np.random.default_rng(seed).choice(len(flat), size=min(sample, len(flat)), replace=False)
        mask = {s: np.zeros_like(after.live[s]) for s in sites}
        for i in pick:
            mask[flat[i][0]][flat[i][1]] = True
    t0 = time.time()
    exact = _exact(model, task, after, inputs, mask)
    t_exact = time.time() - t0
    rows = {}
    for name, alloc in (("attribution before (|g·(mean−a)|)", before), ("attribution now (signed)", after),
                        ("verified", verified)):
        rows[name] = interp.agreement(alloc, exact, neurons=mask)
    return {"neurons_compared": int(sum(m.sum() for m in mask.values())), "n_live": after.n_live,
            "seconds": {"attribution": t_attr, "verified": t_ver, "exact_on_compared": t_exact},
            "verified_notes": {k: v for k, v in verified.notes.items() if k not in ("task", "model")},
            "agreement": rows}


def _exact(model, task, template, inputs, mask):
    """An ``ablation`` Allocation whose scores are exact on ``mask`` (0 elsewhere)."""
    from dataclasses import replace

    from interp.evaluation import eval_pieces

    pieces = eval_pieces(model, task, inputs, 1, 0, max(1, 512 // inputs.x.shape[1]))
    base = base_pass(model, task, pieces, list(template.sites), None, None)
    live = {s: live_mask(base["var"][s], live_rule_for(model), 1e-3) for s in template.sites}
    ctx = ScoreContext(model=model, task=task, pieces=pieces, sites=list(template.sites), base=base, live=live,
                       members=None, threshold=0.01, dominance=0.1, progress=True)
    ids = {s: torch.from_numpy(np.flatnonzero(mask[s])) for s in template.sites}
    scores = ablation_deltas(ctx, ids)
    return replace(template, method="ablation", threshold=0.01,
                   scores={s: scores[s].numpy() for s in template.sites})


def show(title: str, res: dict) -> None:
    print(f"\n{title}: {res['neurons_compared']} neurons compared ({res['n_live']} live)")
    print(f"{'method':<36} {'subtask':<12} {'spearman':>8} {'jaccard':>8} {'assigned':>9} {'by exact':>9}")
    for name, row in res["agreement"].items():
        for k in row["spearman"]:
            r, j = row["spearman"][k], row["jaccard"][k]
            print(f"{name:<36} {k:<12} {'—' if r is None else f'{r:.2f}':>8} {'—' if j is None else f'{j:.2f}':>8} "
                  f"{row['assigned_a'][k]:>9} {row['assigned_b'][k]:>9}")
    s = res["seconds"]
    v = res["verified_notes"]
    print(f"time: attribution {s['attribution']:.1f}s, verified {s['verified']:.1f}s, exact ablation of the compared "
          f"neurons {s['exact_on_compared']:.1f}s; verified: {v['n_candidates']} candidates + {v['n_sample']} sampled, "
          f"serving but unverified ≈ {v['missed_estimate']:.0f} (95% bound {v['missed_upper_95']:.0f}), of which "
          f"misassigned by the estimate ≈ {v['misassigned_estimate']:.0f} (95% bound {v['misassigned_upper_95']:.0f})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--neurons", type=int, default=200)
    p.add_argument("--candidates", type=float, default=0.002,
                   help="SmolLM2: share of live neurons the verified method checks in the screen's order")
    p.add_argument("--sample", type=int, default=64, help="SmolLM2: random others the verified method checks")
    p.add_argument("--skip-smollm2", action="store_true")
    p.add_argument("--skip-gpt2", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.manual_seed(0)
    out = {}
    if not args.skip_gpt2:
        task = synthetic_task()
        t0 = time.time()
        model, loss = trained_gpt2(task, args.steps)
        print(f"trained 2-layer GPT-2 (512 MLP neurons) for {args.steps} steps in {time.time() - t0:.0f}s, "
              f"final loss {loss:.3f}")
        inputs = task.eval_batch(10_000, torch.Generator().manual_seed(1))
        out["trained_gpt2"] = compare(model, task, inputs, sample=None)
        show("trained 2-layer GPT-2, every live neuron", out["trained_gpt2"])
    if not args.skip_smollm2:
        from interp.lm import load_smollm2
        from interp.figures.lm_corpus import study_task

        bridge = load_smollm2()
        lm_task = study_task(bridge.tokenizer, tokens=48, seq_len=32)
        inputs = lm_task.eval_batch(10_000, torch.Generator().manual_seed(1))
        out["smollm2"] = compare(bridge, lm_task, inputs, sample=args.neurons,
                                 verify={"candidates": args.candidates, "sample": args.sample})
        show(f"SmolLM2-135M, a random sample of {args.neurons} live neurons", out["smollm2"])
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
