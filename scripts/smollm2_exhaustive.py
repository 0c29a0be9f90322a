"""The exhaustive reference for SmolLM2's neuron counts: every one of its 46 080 MLP neurons
mean-ablated exactly on every token of the study's four subtasks (``interp.allocate(
method="ablation")``), written as a fixture the census design is checked against.

On one modern GPU at 4 096 counted tokens per subtask this is expected to take 10-25 minutes
(46 080 neurons × about 31 000 positions, each from its own layer on); on 2 CPU cores, days.

    python scripts/smollm2_exhaustive.py --device cuda [--tokens 4096] [--out tests/fixtures/smollm2_exhaustive.npz]
    python scripts/smollm2_exhaustive.py --tiny      # the same path on a trained tiny Llama, for a CPU check

The file holds, per site, the exact relative loss change of every neuron for every subtask
(``scores [n, K]``), the attribution screen's estimate of it (``screen [n, K]``), which neurons are live, the subtask losses, the task's summary and the
seconds taken. ``tests/test_census_counts.py`` draws the census design over it many times when
the file is there, and reports the coverage of its intervals on this real population.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import interp  # noqa: E402
from interp.figures.lm_resources import study_task  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "smollm2_exhaustive.npz"


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tokens", type=int, default=4096, help="counted tokens per subtask (default 4096)")
    ap.add_argument("--out", default=str(FIXTURE))
    ap.add_argument("--tiny", action="store_true", help="a trained tiny Llama instead of SmolLM2 (a CPU check)")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.tiny:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_lms import pattern_task, trained_tiny_llama

        model = interp.wrap_hf(trained_tiny_llama(300)).to(args.device)
        task, what = pattern_task(32, n_seq=12, seed=99), "trained tiny Llama"
    else:
        model = interp.load_smollm2(device=args.device)
        task, what = study_task(model.tokenizer, tokens=args.tokens, seq_len=64), "SmolLM2-135M"
    batch = task.eval_batch(10 ** 9, torch.Generator().manual_seed(0))
    alloc = interp.allocate(model, task, method="ablation", inputs=batch, fdr=None, max_elements=2 ** 28)
    seconds = time.time() - t0
    screen = interp.allocate(model, task, method="attribution", inputs=batch, fdr=None, progress=False)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"scores/{s}": alloc.scores[s].astype(np.float32) for s in alloc.sites}
    arrays.update({f"live/{s}": alloc.live[s] for s in alloc.sites})
    arrays.update({f"screen/{s}": screen.scores[s].astype(np.float32) for s in alloc.sites})
    meta = {"model": what, "task": task.summary(), "subtasks": list(alloc.subtasks), "sites": list(alloc.sites),
            "losses": [float(v) for v in alloc.losses], "seconds": seconds, "device": args.device,
            "tokens_per_subtask": args.tokens if not args.tiny else None}
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    tmp.replace(out)                   # whole or not at all
    counts = {k: int(sum((alloc.scores[s][alloc.live[s], i] > 0.01).sum() for s in alloc.sites))
              for i, k in enumerate(alloc.subtasks)}
    print(f"{what}: {sum(int(v.sum()) for v in alloc.live.values())} live neurons ablated exactly on "
          f"{task.summary()} in {seconds:.0f} s on {args.device}; N_k(τ = 0.01 of ℓ_k) = {counts}; wrote {out}")
    return out


if __name__ == "__main__":
    main()
