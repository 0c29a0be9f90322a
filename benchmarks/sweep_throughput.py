"""Sweep throughput: the quick x² sweep (8 α × 3 seeds, width 100: Figs. 2 and 6's) in-process
against a 2-worker Dask LocalCluster on this machine, and the Dask path's overhead per task.

Each configuration trains the same runs into a fresh folder, side by side in one run of
this script. Throughput is runs per minute (median over ``--repeats``); the overhead per
task is measured on groups that train 1 step, where scheduling, shipping the task and
gathering its result are all that is left.

    python benchmarks/sweep_throughput.py [--steps 20000] [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from dataclasses import replace

import models
from interp.experiments.executors import Dask, InProcess
from interp.figures import square_sweep
from interp.experiments.runs import Sweep, execute


def quick_sweep(steps: int, group_size: int | None) -> Sweep:
    recipe = replace(square_sweep.QUICK, steps=steps, decay_every=max(1, steps // 5))
    (sweep,) = square_sweep.sweeps(recipe)
    return Sweep(sweep.runs, group_size)


def timed(sweep: Sweep, executor, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as root:
            t0 = time.perf_counter()
            execute(sweep, root, executor, checkpoint_every=10**9, progress=False)
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000, help="training steps per run (the quick recipe: 20 000)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--tasks", type=int, default=40, help="1-step groups for the overhead measurement")
    args = ap.parse_args()
    cores = os.cpu_count()
    n_runs = len(quick_sweep(args.steps, None))
    print(f"{cores} cores; quick x² sweep: {n_runs} runs, width 100, {args.steps} steps each\n")
    from distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    t_start = time.perf_counter() - t0
    dask = Dask(cluster, threads=max(1, cores // 2))  # the cluster is started once, outside the timings
    warm = Sweep.grid(models.MLPConfig(d_in=1, widths=(8,), d_out=1), models.tasks.Square(),
                      models.TrainConfig(steps=5, eval_points=2, eval_size=64, progress=False), over={"model.seed": [0, 1]},
                      group_size=1)
    for ex in (InProcess(), dask):  # imports and first calls, outside the timings
        timed(warm, ex, 1)
    rows = []
    configs = [(f"in-process, 1 ensemble of {n_runs}, torch threads = cores", None, InProcess()),
               ("in-process, 2 groups of 12, torch threads = cores", 12, InProcess()),
               ("Dask LocalCluster 2 workers, 2 groups of 12", 12, dask),
               ("Dask LocalCluster 2 workers, 4 groups of 6", 6, dask)]
    for label, size, ex in configs:
        t = statistics.median(timed(quick_sweep(args.steps, size), ex, args.repeats))
        rows.append((label, t, n_runs / t * 60))
    base = rows[0][1]
    print(f"{'configuration':55s} {'seconds':>8s} {'runs/min':>9s} {'vs first':>9s}")
    for label, t, rpm in rows:
        print(f"{label:55s} {t:8.1f} {rpm:9.2f} {base / t:8.2f}x")

    # overhead per task: groups of one run that train 1 step
    tiny = Sweep.grid(models.MLPConfig(d_in=1, widths=(8,), d_out=1), models.tasks.Square(),
                      models.TrainConfig(steps=1, eval_points=2, eval_size=64, progress=False),
                      over={"model.seed": range(args.tasks)}, group_size=1)
    t_local = statistics.median(timed(tiny, InProcess(), 3))
    t_dask = statistics.median(timed(tiny, dask, 3))
    cluster.close()
    print(f"\nper task ({args.tasks} one-step groups, median of 3 sweeps): in-process {t_local / args.tasks * 1e3:.1f} ms, "
          f"Dask {t_dask / args.tasks * 1e3:.1f} ms; Dask's overhead (scheduling + gathering): "
          f"{(t_dask - t_local) / args.tasks * 1e3:.1f} ms per task. Starting the 2-worker cluster: {t_start:.1f} s "
          f"(once per `--workers` sweep)")


if __name__ == "__main__":
    main()
