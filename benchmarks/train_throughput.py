"""Model-steps per second: M MLPs trained one after another vs as one stacked Ensemble.

Both sides run the same trainer (``models.train``) on the x² task with SPEC A's objective
(Adam, batch 500, each member drawing its own data stream), for widths 16, 100 and 1000 and
M in {1, 16, 64}. Each cell is the median of ``--repeats`` timings measured side by side in
this one run; the ratio is ensemble / sequential throughput.

    python benchmarks/train_throughput.py [--steps 30] [--repeats 3] [--widths 16 100 1000] [--members 1 16 64]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import models


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def sequential(width: int, m: int, cfg: models.TrainConfig) -> float:
    def run():
        for seed in range(m):
            models.train(models.MLP(models.MLPConfig(d_in=1, widths=(width,), d_out=1, seed=seed)),
                         models.tasks.Square(), cfg)
    return _time(run)


def ensemble(width: int, m: int, cfg: models.TrainConfig) -> float:
    net = models.Ensemble(models.MLPConfig(d_in=1, widths=(width,), d_out=1), seeds=tuple(range(m)))
    return _time(lambda: models.train(net, models.tasks.Square(), cfg))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--widths", type=int, nargs="+", default=[16, 100, 1000])
    p.add_argument("--members", type=int, nargs="+", default=[1, 16, 64])
    args = p.parse_args(argv)
    cfg = models.TrainConfig(alpha=8.0, steps=args.steps, eval_size=100, eval_points=1, progress=False)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps per model, "
          f"median of {args.repeats}")
    print(f"{'width':>6} {'M':>4} {'sequential':>14} {'ensemble':>14} {'ratio':>7}")
    print(f"{'':>6} {'':>4} {'model-steps/s':>14} {'model-steps/s':>14}")
    for width in args.widths:
        for m in args.members:
            seq, ens = [], []
            for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both sides
                seq.append(sequential(width, m, cfg))
                ens.append(ensemble(width, m, cfg))
            s = m * args.steps / statistics.median(seq)
            e = m * args.steps / statistics.median(ens)
            print(f"{width:>6} {m:>4} {s:>14.0f} {e:>14.0f} {e / s:>6.1f}x", flush=True)


if __name__ == "__main__":
    main()
