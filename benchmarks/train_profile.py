"""Where a training step's time goes at the FULL recipes' shapes: matmuls against everything
else, per step of a whole run.

For each FULL recipe's ensemble (as ``interp reproduce --full`` stacks it: every member of a
sweep in one ensemble), a ``models.trainer.Trainer`` is built as ``models.train`` builds it
(Adam, batch 500, ``compile="auto"``), and its parts are timed one by one after the step's
warm-up, on this machine's threads, with subnormals flushed as ``Trainer.run`` trains:

- ``step``: the optimisation step (forward, objective, gradient, Adam), and within it the
  matrix products (``aten::bmm``/``baddbmm``/``mm``/``addmm`` in ``torch.profiler``; the rest
  of the step is the compiler's fused element-wise kernels or eager ops, and Python);
- ``data``: drawing the step's batch (each member its own stream);
- ``check``: the NaN/inf check, once every ``check_every`` steps;
- ``history``: one point of held-out evaluation, ``eval_points`` times per run;
- ``save``: one checkpoint, every ``checkpoint_every`` steps (``interp reproduce``'s 1 000).

The per-step cost of a whole run adds each part at its rate. ``bound``: the step's matmul
FLOPs (forward, weight gradients, input gradients of every layer after the first) at the
machine's float32 matmul peak (a 1024³ product), so ``% of bound`` is the share of the peak a
run reaches. Writes ``benchmarks/profiles/train_profile.json`` and prints a table.

    python benchmarks/train_profile.py [--scale 1.0] [--out benchmarks/profiles/train_profile.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import models  # noqa: E402
from models.trainer import Trainer, _flushing_subnormals  # noqa: E402
from train_throughput import peak_flops  # noqa: E402  (the same measured peak as the trainer's benchmark)

# (name, members, d_in, widths, d_out, task): each FULL recipe's ensemble
SHAPES = (
    ("Fig 2/6 x² (20 α × 16 seeds)", 320, 1, (1000,), 1, lambda: models.tasks.Square()),
    ("Fig 3 parallel, one β (8 α × 16 seeds)", 128, 2, (1000,), 2, lambda: models.tasks.Parallel(beta=0.75)),
    ("Fig 5 one net (12 α × 4 seeds)", 48, 1, (1000,), 1, lambda: models.tasks.Function("exp")),
    ("Fig 5 two layers", 48, 1, (200, 200), 1, lambda: models.tasks.Function("exp")),
    ("Fig 5 three layers", 48, 1, (150, 150, 150), 1, lambda: models.tasks.Function("exp")),
    ("Figs 4/7/8 series (10 α × 4 seeds)", 40, 4, (30, 30, 30, 30), 1, lambda: models.tasks.Series()),
)
STEPS, EVAL_POINTS, CHECKPOINT_EVERY = 100_000, 10, 1000
MATMULS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm", "aten::matmul")


def matmul_flops(d_in: int, widths: tuple, d_out: int, batch: int) -> float:
    """FLOPs of the matrix products of one member's step: forward and weight gradients
    (2·B·fan_in·fan_out each) and the input gradients of every layer after the first."""
    fans = list(zip((d_in, *widths), (*widths, d_out)))
    per = [2 * batch * a * b for a, b in fans]
    return 2 * sum(per) + sum(per[1:])


def timed(fn, n: int) -> float:
    """Mean seconds of ``fn()`` over ``n`` calls."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / max(n, 1)


def profile(name, m, d_in, widths, d_out, task, scale: float, peak: float) -> dict:
    net = models.Ensemble(models.MLPConfig(d_in=d_in, widths=widths, d_out=d_out), seeds=tuple(range(m)))
    cfg = models.TrainConfig(alpha=tuple(float(2 ** (i % 10)) for i in range(m)), steps=STEPS,
                             lr_decay_every=20_000, eval_points=EVAL_POINTS, checkpoint_every=CHECKPOINT_EVERY,
                             progress=False)
    with tempfile.TemporaryDirectory() as ckpt, _flushing_subnormals():         # as Trainer.run trains
        tr = Trainer(net, task, cfg, ckpt)
        t0 = time.perf_counter()
        tr.step_fn(tr.data.batch(0))                      # warm-up (compilation when compiled)
        warm = time.perf_counter() - t0
        per_call = timed(lambda: tr.step_fn(tr.data.batch(1)), 1)
        n = max(3, int(scale * 4.0 / max(per_call, 1e-4)))  # about 4 s of steps
        batches = [tr.data.batch(s) for s in range(1, 2)]
        data = timed(lambda: tr.data.batch(5), n)
        step = timed(lambda: tr.step_fn(batches[0]), n)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(max(2, n // 4)):
                tr.step_fn(batches[0])
        ev = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in ev)
        mm = sum(e.self_cpu_time_total for e in ev if e.key in MATMULS)
        check = timed(lambda: tr.check_window(tr.last_step), 3)
        history = timed(lambda: tr.record(1), 2)
        save = timed(lambda: tr.save(1), 2)
    per_step = {"step": step, "data": data, "check": check / cfg.check_every,
                "history": history * (EVAL_POINTS + 1) / STEPS, "save": save / CHECKPOINT_EVERY}
    whole = sum(per_step.values())
    bound = m * matmul_flops(d_in, widths, d_out, cfg.batch_size) / peak
    return {"shape": name, "members": m, "d_in": d_in, "widths": list(widths), "d_out": d_out,
            "compiled": bool(getattr(tr.step_fn, "compiled", False)), "warmup_s": warm, "steps_timed": n,
            "seconds_per_step": per_step, "run_seconds_per_step": whole,
            "matmul_share_of_step": mm / total if total else 0.0,
            "bound_seconds_per_step": bound, "percent_of_bound": 100 * bound / whole,
            "model_steps_per_s": m / whole, "full_run_hours": whole * STEPS / 3600}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="time per measurement, × about 4 s")
    p.add_argument("--out", default=str(Path(__file__).parent / "profiles" / "train_profile.json"))
    p.add_argument("--only", nargs="*", help="shape names containing these words")
    a = p.parse_args(argv)
    threads = torch.get_num_threads()
    peak = peak_flops()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = {"machine": platform.processor() or platform.machine(), "threads": threads,
           "avx512": "avx512f" in flags, "avx2": "avx2" in flags, "peak_gflops": peak / 1e9,
           "torch": torch.__version__, "compile_cache": os.environ.get("TORCHINDUCTOR_CACHE_DIR", "default")}
    print(f"torch {torch.__version__}, {threads} threads, AVX-512 {cpu['avx512']}, float32 matmul peak "
          f"{peak / 1e9:.0f} GFLOP/s")
    rows = []
    head = f"{'shape':42} {'comp':>4} {'step ms':>8} {'mm %':>5} {'data':>6} {'check':>6} {'hist':>6} {'save':>6} " \
           f"{'run ms':>8} {'bound ms':>8} {'% bound':>7} {'FULL h':>7}"
    print(head)
    for name, m, d_in, widths, d_out, task in SHAPES:
        if a.only and not any(w in name for w in a.only):
            continue
        r = profile(name, m, d_in, widths, d_out, task(), a.scale, peak)
        rows.append(r)
        s = r["seconds_per_step"]
        print(f"{name:42} {'yes' if r['compiled'] else 'no':>4} {1e3 * s['step']:8.2f} "
              f"{100 * r['matmul_share_of_step']:5.0f} {1e3 * s['data']:6.2f} {1e3 * s['check']:6.3f} "
              f"{1e3 * s['history']:6.3f} {1e3 * s['save']:6.3f} {1e3 * r['run_seconds_per_step']:8.2f} "
              f"{1e3 * r['bound_seconds_per_step']:8.2f} {r['percent_of_bound']:7.1f} {r['full_run_hours']:7.2f}",
              flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    models.atomic.write_text(out, json.dumps({"cpu": cpu, "steps": STEPS, "eval_points": EVAL_POINTS,
                                              "checkpoint_every": CHECKPOINT_EVERY, "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
