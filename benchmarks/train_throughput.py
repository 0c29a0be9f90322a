"""Model-steps per second of the toolkit's trainer against hand-written stacked loops and the
machine's compute bound.

For each (M members, width) in {(64, 16), (21, 100), (8, 1000)} and each thread count, side
by side in one process (the variants interleaved, each cell the median of ``--repeats``):

- ``trainer``: ``models.train`` on an ``Ensemble`` of one-hidden-layer SiLU MLPs on x²
  (SPEC A's objective, Adam, batch 500, each member its own data stream), compiled
  (``compile="on"``) and eager (``compile="off"``);
- ``today``: the trainer of an older checkout (``--baseline FOLDER``, e.g. a
  ``git worktree`` of the commit before the trainer was reworked), same run;
- ``eager loop`` / ``compiled loop``: a hand-written stacked loop over the same parameters,
  objective and optimizer, one batch for all members from one generator per step, with no
  history, no divergence check and no per-member streams; the compiled one runs its step
  under ``torch.compile``;
- ``bound``: the FLOPs of a model-step (matmuls of forward and backward, plus about 12 per
  hidden activation for SiLU, its derivative and the bias terms) against the machine's peak,
  measured with a large float32 matmul at that thread count.

Throughputs are measured after warm-up; warm-up (the first step: compilation, with a fresh
compiler cache in each thread count's process) is reported on its own, in seconds, for the
trainer and the compiled loop, after the compiler's one-off start-up (reported once).

    python benchmarks/train_throughput.py [--threads 1 2] [--repeats 3] [--scale 1.0] [--baseline FOLDER]

``--short`` measures instead the short run a test or a first try makes, warm-up included: 21
stacked SiLU MLPs of width 100 for 3 000 steps on one thread in a process with a fresh compiler
cache, the trainer with its own choice of compiling against the eager hand-written loop, then the
trainer once more in the same process (its compiled step already built).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = ((64, 16), (21, 100), (8, 1000))
BATCH, ALPHA, L1, L2, LR = 500, 8.0, 1e-4, 5e-4, 0.01


def _load_as(name: str, folder: str):
    """The ``models`` package of another checkout, imported as ``name``."""
    pkg = Path(folder) / "models"
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def flops_per_model_step(width: int, batch: int = BATCH, d_in: int = 1, d_out: int = 1) -> float:
    """Matmul FLOPs of forward (2·B·Σ fan_in·fan_out), weight gradients (the same) and the
    hidden layer's input gradient (2·B·width·d_out), plus 12 per hidden activation."""
    fwd = 2 * batch * (d_in * width + width * d_out)
    return fwd + fwd + 2 * batch * width * d_out + 12 * batch * width


def peak_flops(seconds: float = 1.0) -> float:
    """Measured float32 matmul FLOP/s (1024³ products, best of a second's worth)."""
    import torch
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 1024**3 / (time.perf_counter() - t))
    return best


# -- the hand-written references ------------------------------------------------------------
def _objective(w1, b1, w2, b2, x, y, alpha):
    import torch
    out = torch.baddbmm(b2, torch.nn.functional.silu(torch.baddbmm(b1, x, w1)), w2)
    task = (out - y).pow(2).mean((1, 2))
    l1 = w1.abs().sum((1, 2)) + w2.abs().sum((1, 2))
    l2 = w1.pow(2).sum((1, 2)) + w2.pow(2).sum((1, 2))
    return (alpha * task + L1 * l1 + L2 * l2).sum()


def _reference(m: int, width: int, steps: int, compiled: bool) -> tuple[float, float]:
    """(warm-up seconds of the first step, model-steps/s after it) of the hand-written loop."""
    import models
    import torch
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(width,), d_out=1), seeds=tuple(range(m)))
    w1, w2 = (p.detach().clone().requires_grad_() for p in ens.weight)
    b1, b2 = (p.detach().clone().requires_grad_() for p in ens.bias)
    params = [w1, b1, w2, b2]
    lr = torch.tensor(LR) if compiled else LR
    opt = torch.optim.Adam(params, lr=lr)
    alpha = torch.full((m,), ALPHA)
    gen = torch.Generator().manual_seed(0)

    def step(x, y):
        _objective(w1, b1, w2, b2, x, y, alpha).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    run = torch.compile(step) if compiled else step

    def one():
        x = torch.rand(m, BATCH, 1, generator=gen)
        run(x, x * x)

    t = time.perf_counter()
    one()
    warm = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(steps):
        one()
    return warm, m * steps / (time.perf_counter() - t)


# -- the trainers ---------------------------------------------------------------------------
def _train(mod, m: int, width: int, steps: int, compile: str | None):
    """``mod.train``'s result on ``m`` stacked SiLU MLPs of ``width`` (compile None: its own choice)."""
    kw = dict(alpha=ALPHA, steps=steps, eval_size=100, eval_points=1, progress=False)
    if compile is not None:
        kw["compile"] = compile
    net = mod.Ensemble(mod.MLPConfig(d_in=1, widths=(width,), d_out=1), seeds=tuple(range(m)))
    return mod.train(net, mod.tasks.Square(), mod.TrainConfig(**kw))


def _trainer(mod, m: int, width: int, steps: int, compile: str | None) -> tuple[float, float]:
    """(warm-up seconds, model-steps/s after warm-up) of ``mod.train``."""
    res = _train(mod, m, width, steps, compile)
    if res.compiled:  # the first step carries the compilation
        return res.warmup_s, m * (steps - 1) / (res.train_s - res.warmup_s)
    return 0.0, m * steps / res.train_s


def older_rate(mod, cfg, task, members: int, steps: int, **train) -> float:
    """Model-steps/s of an older checkout's ``mod.train`` on ``members`` stacked MLPs of ``cfg``
    (its ``MLPConfig``) on ``task``, from the difference of a run of ``steps`` steps and one of a
    tenth of them (so set-up and the history points cancel); ``train``: more ``TrainConfig``
    fields."""
    def seconds(n):
        net = mod.Ensemble(cfg, seeds=tuple(range(members)))
        t = time.perf_counter()
        mod.train(net, task, mod.TrainConfig(steps=n, eval_points=1, progress=False, **train))
        return time.perf_counter() - t
    short = max(2, steps // 10)
    return members * (steps - short) / (seconds(steps) - seconds(short))


def _today(mod, m: int, width: int, steps: int) -> float:
    """Model-steps/s of an older trainer on the benchmark's shape (``older_rate``)."""
    return older_rate(mod, mod.MLPConfig(d_in=1, widths=(width,), d_out=1), mod.tasks.Square(), m, steps,
                      alpha=ALPHA, eval_size=100)


def measure(threads: int, repeats: int, scale: float, baseline: str | None) -> list[dict]:
    """Every (M, width) at ``threads`` threads: one dict of medians per shape."""
    import torch
    torch.set_num_threads(threads)
    import models
    today = _load_as("models_today", baseline) if baseline else None
    t = time.perf_counter()  # the compiler's one-off start-up, on a throwaway function
    torch.compile(lambda v: (v * 2).sin())(torch.ones(3))
    startup = time.perf_counter() - t
    peak = peak_flops()
    rows = []
    for m, width in SHAPES:
        steps = max(20, int(scale * 2e8 / (m * BATCH * width)))
        cells: dict[str, list[float]] = {}
        warm = {"trainer": _trainer(models, m, width, steps, "on")[0], "loop": _reference(m, width, 2, True)[0]}
        for _ in range(repeats):  # interleaved, so drifts in machine load hit every variant
            if today is not None:
                cells.setdefault("today", []).append(_today(today, m, width, steps))
            cells.setdefault("eager", []).append(_trainer(models, m, width, steps, "off")[1])
            cells.setdefault("trainer", []).append(_trainer(models, m, width, steps, "on")[1])
            cells.setdefault("eager_loop", []).append(_reference(m, width, steps, False)[1])
            cells.setdefault("compiled_loop", []).append(_reference(m, width, steps, True)[1])
        row = {k: statistics.median(v) for k, v in cells.items()}
        row.update(threads=threads, m=m, width=width, steps=steps, warm_trainer=warm["trainer"],
                   warm_loop=warm["loop"], startup=startup, peak=peak,
                   bound=peak / flops_per_model_step(width))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


SHORT = (21, 100, 3000)


def short_run(threads: int = 1) -> dict:
    """Model-steps/s of the short run, warm-up included: the eager hand loop, the trainer (its
    own compile choice) in a fresh compiler cache, and the trainer again in the same process."""
    import torch
    torch.set_num_threads(threads)
    import models
    m, width, steps = SHORT
    t = time.perf_counter()
    _reference(m, width, steps - 1, False)
    loop = m * steps / (time.perf_counter() - t)
    rates, compiled = [], []
    for _ in range(2):
        res = _train(models, m, width, steps, None)
        rates.append(m * steps / res.train_s)
        compiled.append(bool(res.compiled))
    return {"threads": threads, "m": m, "width": width, "steps": steps, "eager_loop": loop, "trainer_first": rates[0],
            "trainer_again": rates[1], "compiled": compiled}


def table(rows: list[dict]) -> str:
    has_today = all("today" in r for r in rows)
    head = (f"{'thr':>3} {'M':>3} {'width':>5} | {'today':>7} {'eager':>7} {'trainer':>7} | {'eager':>7} "
            f"{'compiled':>8} | {'bound':>8} {'of bound':>8} | {'x today':>7} {'x comp.':>7} | {'warm-up s':>9} {'':>5}")
    sub = (f"{'':>3} {'':>3} {'':>5} | {'trainer':>7} {'trainer':>7} {'compiled':>7} | {'loop':>7} "
           f"{'loop':>8} | {'':>8} {'':>8} | {'':>7} {'loop':>7} | {'trainer':>9} {'loop':>5}")
    lines = ["model-steps/s after warm-up (median); bound = peak FLOP/s / FLOPs per model-step", head, sub]
    for r in rows:
        today = f"{r['today']:7.0f}" if has_today else f"{'-':>7}"
        ratio = f"{r['trainer'] / r['today']:6.1f}x" if has_today else f"{'-':>7}"
        lines.append(f"{r['threads']:>3} {r['m']:>3} {r['width']:>5} | {today} {r['eager']:7.0f} {r['trainer']:7.0f} | "
                     f"{r['eager_loop']:7.0f} {r['compiled_loop']:8.0f} | {r['bound']:8.0f} "
                     f"{100 * r['trainer'] / r['bound']:7.1f}% | {ratio} {r['trainer'] / r['compiled_loop']:6.2f}x | "
                     f"{r['warm_trainer']:9.1f} {r['warm_loop']:5.1f}")
    peaks = ", ".join(f"{t} thr: {p / 1e9:.0f} GFLOP/s, compiler start-up {s:.1f} s" for t, p, s in
                      sorted({(r["threads"], r["peak"], r["startup"]) for r in rows}))
    lines.append(f"measured peak (float32 matmul) and one-off compiler start-up: {peaks}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the steps timed per cell")
    p.add_argument("--baseline", default=None, help="a checkout whose models.train is today's trainer")
    p.add_argument("--short", action="store_true", help="the short run, warm-up included (see above)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        if args.short:
            print(json.dumps(short_run(args.child)), flush=True)
        else:
            measure(args.child, args.repeats, args.scale, args.baseline)
        return
    if args.short:
        for _ in range(args.repeats):  # each in a new process with a fresh compiler cache
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
                out = subprocess.run([sys.executable, __file__, "--short", "--child", "1"], env=env, check=True,
                                     capture_output=True, text=True).stdout
            r = json.loads(out.splitlines()[-1])
            print(f"{r['m']} x {r['width']}, {r['steps']} steps, 1 thread, warm-up included, model-steps/s: eager loop "
                  f"{r['eager_loop']:.0f}, trainer in a fresh cache {r['trainer_first']:.0f} "
                  f"({r['trainer_first'] / r['eager_loop']:.2f}x; compiled: {r['compiled'][0]}), trainer again "
                  f"{r['trainer_again']:.0f} ({r['trainer_again'] / r['eager_loop']:.2f}x)", flush=True)
        return
    import torch
    print(f"torch {torch.__version__}, {os.cpu_count()} cores; batch {BATCH}, x² task, Adam; "
          f"median of {args.repeats}", flush=True)
    rows = []
    for threads in args.threads:  # one process per thread count, each with a fresh compiler cache
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
            cmd = [sys.executable, __file__, "--child", str(threads), "--repeats", str(args.repeats),
                   "--scale", str(args.scale)] + (["--baseline", args.baseline] if args.baseline else [])
            out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        rows += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    print(table(rows))


if __name__ == "__main__":
    main()
