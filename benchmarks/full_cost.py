"""What each figure's FULL recipe (the papers' settings) costs on this machine.

For every figure that trains, the runs its ``FULL`` recipe declares are stacked into the
groups ``interp reproduce --full`` would train (one ensemble per shape); each distinct model
shape is trained for a timed slice (compiled as a long run would be, the warm-up left out; at
most 8 members, and as many steps as about 3·10^9 hidden activations, between 30 and
``--slice``), and its model-steps per second set the estimate for every group of that shape,
whatever its task. The quick recipe is measured beside it the same way, so the ratio of the
two estimates reads on any machine. Rates at the start of training: L1 later kills neurons and
the flushed subnormals make steps cheaper, so these estimates are upper bounds (the quick x²
sweep, estimated at 38-41 s, trains in 24 s).

    .venv/bin/python benchmarks/full_cost.py                 # every training figure
    .venv/bin/python benchmarks/full_cost.py fig2_square fig4_series --slice 400
    .venv/bin/python benchmarks/full_cost.py fig3_parallel fig5_functions --baseline FOLDER

With ``--baseline FOLDER`` (a checkout of an older trainer, e.g. a ``git worktree`` of 60ac16d,
the commit before the trainer's rework) each MLP shape is also trained by that checkout's
``models.train`` on the same task and members, side by side, and every row adds the older
trainer's rate and estimate and the ratio of the two.

Prints one row per figure: runs, groups, model-steps, the measured rate and the estimated
hours of FULL (and QUICK) on this machine with its thread count.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

import models
from interp.figures import reproduce as rp
from interp.experiments.runs import Sweep


def groups_of(module, recipe) -> list:
    declared = list(module.sweeps(recipe)) if hasattr(module, "sweeps") else []
    runs = [run for sweep in declared for run in sweep.runs]
    return Sweep(tuple(dict.fromkeys(runs))).groups() if runs else []


def shape_of(group) -> tuple:
    run = group.runs[0]
    model = dataclasses.replace(run.model, seed=0)
    return type(run.model).__name__, repr(model), run.train.batch_size, run.train.dataset_size


WORK = 3e9
"""Hidden activations (members × steps × batch × hidden neurons) of one timed slice."""


def rate(group, members: int, steps: int) -> tuple[float, float]:
    """(model-steps per second after the warm-up, warm-up seconds) of ``members`` members of
    the group's shape trained for ``steps`` steps."""
    run = group.runs[0]
    if isinstance(run.model, models.MLPConfig):
        model = models.Ensemble(dataclasses.replace(run.model, seed=0), seeds=tuple(range(members)))
        alpha = tuple([float(run.train.alpha)] * members)
        compile_ = "on"
    else:
        model, alpha, compile_, members = models.ParityTransformer(run.model), float(run.train.alpha), "off", 1
    cfg = dataclasses.replace(run.train, alpha=alpha, steps=steps, eval_points=1, checkpoint_every=0, progress=False,
                              compile=compile_)
    t = time.perf_counter()
    res = models.train(model, run.task, cfg)
    total = time.perf_counter() - t
    timed = max(res.train_s - res.warmup_s, 1e-9)
    return members * (steps - (1 if res.compiled else 0)) / timed, total - timed


def baseline_rate(mod, group, members: int, steps: int) -> float:
    """Model-steps per second of an older checkout's ``models.train`` (``mod``) on the group's
    shape and task (``train_throughput.older_rate``)."""
    from train_throughput import older_rate
    run = group.runs[0]
    cfg = mod.MLPConfig(d_in=run.model.d_in, widths=tuple(run.model.widths), d_out=run.model.d_out)
    return older_rate(mod, cfg, mod.tasks.Task.from_config(run.task.to_config()), members, steps,
                      alpha=tuple([float(run.train.alpha)] * members), batch_size=run.train.batch_size)


def estimate(module, recipe, slice_steps: int, baseline=None) -> dict:
    groups = groups_of(module, recipe)
    by_shape: dict[tuple, list] = {}
    for g in groups:
        by_shape.setdefault(shape_of(g), []).append(g)
    seconds, model_steps, warm, old_seconds = 0.0, 0, 0.0, 0.0
    rates, old_rates = [], []
    for shape, gs in by_shape.items():
        members = min(8, max(len(g.runs) for g in gs))
        run = gs[0].runs[0]
        hidden = sum(getattr(run.model, "widths", ())) or getattr(run.model, "d_model", 64) * 4
        steps = int(max(30, min(slice_steps, WORK / (members * run.train.batch_size * hidden))))
        r, w = rate(gs[0], members, steps)
        rates.append(r)
        warm += w
        old = None
        if baseline is not None and isinstance(run.model, models.MLPConfig):
            old = baseline_rate(baseline, gs[0], members, steps)
            old_rates.append(old)
        for g in gs:
            n = len(g.runs) * g.runs[0].train.steps
            model_steps += n
            seconds += n / r
            old_seconds += n / old if old else 0.0
    return {"runs": sum(len(g.runs) for g in groups), "groups": len(groups), "shapes": len(by_shape),
            "model_steps": model_steps, "hours": seconds / 3600, "rate": (min(rates), max(rates)) if rates else None,
            "warmup_s": warm, "baseline_hours": old_seconds / 3600 if old_rates else None,
            "baseline_rate": (min(old_rates), max(old_rates)) if old_rates else None}


def run_cost(module, recipe, small: int) -> dict | None:
    """For a figure that trains inside its own ``run`` (not through sweeps): the figure run
    whole at ``small`` and ``2·small`` steps (or epochs), timed, and the cost at the recipe's
    length extrapolated linearly from the two (what does not grow with steps, evaluation and
    drawing, is the intercept). None when the recipe has no steps or epochs field."""
    import tempfile
    axis = next((f for f in ("steps", "epochs") if hasattr(recipe, f)), None)
    if axis is None:
        return None
    full = getattr(recipe, axis)
    times = []
    for n in (small, 2 * small):
        changes = {axis: n}
        for decay in ("decay_every", "decay_epochs"):
            if hasattr(recipe, decay):
                changes[decay] = max(1, round(getattr(recipe, decay) * n / full))
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            module.run(tmp, dataclasses.replace(recipe, **changes))
        times.append(time.perf_counter() - t)
    per = max(times[1] - times[0], 0.0) / small
    return {"axis": axis, "length": full, "hours": (times[0] + per * (full - small)) / 3600, "per_1000": 1000 * per,
            "slices": times}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("figures", nargs="*", help="figure names (default: every figure that trains)")
    p.add_argument("--slice", type=int, default=300, help="steps of each timed slice (default 300)")
    p.add_argument("--run-slice", type=int, default=100,
                   help="steps (or epochs) of the whole-figure slices of the figures that train in their run "
                        "(default 100)")
    p.add_argument("--baseline", default=None, help="a checkout whose models.train is the trainer to compare with")
    args = p.parse_args()
    baseline = None
    if args.baseline:
        from train_throughput import _load_as
        baseline = _load_as("models_baseline", args.baseline)
    names = args.figures or [n for n in rp.FIGURES]
    print(f"torch threads: {torch.get_num_threads()}, CPU capability: {torch.backends.cpu.get_cpu_capability()}, "
          f"slices of {args.slice} steps")
    print(f"{'figure':28s} {'recipe':6s} {'runs':>5s} {'groups':>6s} {'model-steps':>12s} {'rate (model-steps/s)':>22s} "
          f"{'est. hours':>10s}")
    for name in names:
        module = rp.FIGURES[name].load()
        for label, recipe in (("quick", module.QUICK), ("full", module.FULL)):
            t = time.perf_counter()
            e = estimate(module, recipe, args.slice, baseline)
            if not e["groups"]:
                c = run_cost(module, recipe, args.run_slice)
                if c is None:
                    print(f"{name:28s} {label:6s} trains nothing (computed, or an analysis)")
                    break
                print(f"{name:28s} {label:6s} trains in its figure: {c['per_1000']:.1f} s per 1000 {c['axis']} "
                      f"(whole figure at {args.run_slice} and {2 * args.run_slice}: {c['slices'][0]:.0f} s, "
                      f"{c['slices'][1]:.0f} s) x {c['length']} {c['axis']} {c['hours']:10.3g} h", flush=True)
                continue
            lo, hi = e["rate"]
            print(f"{name:28s} {label:6s} {e['runs']:5d} {e['groups']:6d} {e['model_steps']:12.3g} "
                  f"{lo:10.0f}-{hi:<10.0f} {e['hours']:10.3g}   (measured in {time.perf_counter() - t:.0f} s)",
                  flush=True)
            if e["baseline_hours"] is not None:
                blo, bhi = e["baseline_rate"]
                print(f"{'':28s} {'older':6s} {'':5s} {'':6s} {'':12s} {blo:10.0f}-{bhi:<10.0f} "
                      f"{e['baseline_hours']:10.3g}   ({e['baseline_hours'] / e['hours']:.1f}x the trainer's hours)",
                      flush=True)


if __name__ == "__main__":
    main()
