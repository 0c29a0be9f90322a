"""Shared setup of the emergence paper's Fig. 1 panels (SPEC B): the task, the authors'
two-layer ReLU network (weights *and* biases drawn from N(0, init²)), training to a final
R_k/S, and the calibrate-on-skill-1 panel of the data and parameter figures."""
from __future__ import annotations

import time

import numpy as np
import torch

import models

TASK = dict(n_skills=5, n_bits=32, bits_per_skill=3, alpha=0.6, scale=5.0)


def task(random_positions: bool = False, bits_seed: int = 0, n_skills: int = TASK["n_skills"]) -> models.tasks.SparseParity:
    """n_s = 5, n_b = 32, m = 3, α = 0.6, S = 5; ``random_positions`` places the skills'
    disjoint bits at seeded random positions, as the authors' code does; ``n_skills=1`` is
    the authors' single-skill task (``skill_cnt: 1``) their constants were set on."""
    return models.tasks.SparseParity(**{**TASK, "n_skills": n_skills}, random_positions=random_positions,
                                     bits_seed=bits_seed)


def network(d_in: int, width: int, seeds, init: float, device: str = "cpu") -> models.Ensemble:
    """One 2-layer ReLU MLP per seed (an ensemble), every weight and bias drawn from
    N(0, init²) as in the authors' ``FCN``. The biases are drawn here, after the
    constructor (which zeroes them), from a stream of their own per member and layer."""
    seeds = tuple(int(s) for s in seeds)
    cfg = models.MLPConfig(d_in=d_in, widths=(width,), d_out=1, activation="relu", init="normal", init_std=init)
    net = models.Ensemble(cfg, seeds=seeds)
    with torch.no_grad():
        for layer, bias in enumerate(net.bias):                       # [M, 1, width] per layer
            for i, s in enumerate(seeds):
                g = torch.Generator().manual_seed(1_000_003 * (layer + 1) + s)
                bias[i].normal_(0.0, init, generator=g)
    return net.to(device)


def train_final_strength(width: int, seeds, steps: int, lr: float, batch: int, *, init: float,
                         optimizer: str = "sgd", l2: float = 0.0, lr_decay: float = 1.0, decay_every: int = 10**9,
                         dataset_size: int | None = None, random_positions: bool = False, device: str = "cpu",
                         eval_points: int = 8, n_skills: int = TASK["n_skills"]) -> np.ndarray:
    """Train one ensemble (one member per seed) on fresh batches (or a fixed set of
    ``dataset_size`` samples) of the task with ``n_skills`` skills and return its final
    R_k/S, ``[M, n_skills]``. ``l2`` is the trainer's penalty λ2·Σw² over weights (Adam's
    coupled weight decay wd is λ2 = wd/2)."""
    t = task(random_positions, bits_seed=int(tuple(seeds)[0]), n_skills=n_skills)
    net = network(t.d_in, width, seeds, init, device)
    tc = models.TrainConfig(alpha=1.0, l1=0.0, l2=l2, optimizer=optimizer, lr=lr, lr_decay=lr_decay,
                            lr_decay_every=decay_every, steps=steps, batch_size=batch, dataset_size=dataset_size,
                            eval_size=5000, eval_points=eval_points, progress=False)
    res = models.train(net, t, tc)
    return np.asarray(res.history["skill_strength"][-1], dtype=float)


PANELS = {  # resource -> (panel label, constant's name, paper's fitted value, x label, what x counts, log x)
    "data": ("data", "D_c", 800.0, "training-set size D", "sizes", True),
    "parameters": ("params", "N_c", 4.0, "hidden width N", "widths", False),
}


def calibration_panel(resource: str, x, strength, single=None):
    """Calibrate on skill 1 and predict skills 2..5 for the data or parameter panel of Fig. 1.

    x: sizes or widths ``[n]``; strength: final R_k/S ``[n, M, 5]`` (clipped to [0, 1] here);
    ``single``: R/S of single-skill runs at the same ``x``, ``[n, M, 1]``, the authors' way to
    the constant (they set it against ``skill_cnt: 1`` runs and reused it for 5 skills).
    Returns (figure, calibration, claims, the single-skill calibration or None): measured means ± std, the calibrated curve of
    skill 1 (solid) and the predictions for skills 2..5 (dashed); one claim on the fitted
    constant and one RMS claim per predicted skill; with ``single``, the constant fitted on
    the single-skill runs (dotted, its own claim) and the RMS error over skills 1..5 of the
    predictions from it."""
    from .claims import claim, covers, rms_claim
    from .drawing import figure
    from ..theory.calibration import calibrate

    label, const_name, paper, xlabel, xs, logx = PANELS[resource]
    x = np.asarray(x, dtype=float)
    R = np.clip(np.asarray(strength, dtype=float), 0, 1)
    p = np.asarray(task().weights, dtype=float)
    cal = calibrate(resource, x, R[:, :, 0], frequencies=p, n_boot=300)
    grid = np.logspace(np.log10(x.min() / 2), np.log10(x.max() * 2), 200) if logx else np.linspace(1, x.max(), 200)
    pred = cal.predict(grid, [1, 2, 3, 4, 5])
    fig, (a,) = figure(1, size=(5.2, 3.8))
    for k in range(5):
        a.errorbar(x, R[:, :, k].mean(1), yerr=R[:, :, k].std(1), fmt="o", ms=4, color=f"C{k}", label=f"skill {k + 1}")
        a.plot(grid, pred[:, k], color=f"C{k}", ls="--" if k else "-")
    if logx:
        a.set_xscale("log")
    a.set_xlabel(xlabel), a.set_ylabel("R_k / S")
    a.set_title(f"{const_name} = {cal.constant:.3g} fitted on skill 1 (solid);\nskills 2-5 predicted from it (dashed)",
                fontsize=9)
    a.legend(fontsize=7)
    claims = [claim(f"Fig 1 ({label}): {const_name} fitted on skill 1", f"{paper:g} (paper's fit)", cal.constant,
                       cal.interval, covers(cal.interval, paper), f"agree: {paper:g} in our 95% CI")]
    one = None
    if single is not None:
        S = np.clip(np.asarray(single, dtype=float), 0, 1)
        one = calibrate(resource, x, S[:, :, 0], frequencies=[1.0], n_boot=300)
        a.errorbar(x, S[:, :, 0].mean(1), yerr=S[:, :, 0].std(1), fmt="s", ms=4, mfc="none", color="k",
                   label="single-skill runs")
        a.plot(grid, one.predict(grid, [1])[:, 0], color="k", ls=":")
        a.legend(fontsize=7)
        claims.append(claim(f"Fig 1 ({label}): {const_name} fitted on single-skill runs (the authors' calibration)",
                            f"{paper:g} (paper's value)", one.constant, one.interval, covers(one.interval, paper),
                            f"{S.shape[1]} seeds per point; agree: {paper:g} in our 95% CI; the same constant "
                            f"fitted on skill 1 of the 5-skill runs: {cal.constant:.3g}"))
        pred1 = cal.predict(x, [1, 2, 3, 4, 5], constant=one.constant)                   # [n, 5]
        claims.append(rms_claim(f"Fig 1 ({label}): skills 1-5 R/S, RMS error of the prediction from the single-skill "
                                f"{const_name}", "small", R.transpose(0, 2, 1).reshape(-1, R.shape[1]),
                                pred1.reshape(-1), f"over the {xs} and skills"))
    pw = cal.predict(x, [1, 2, 3, 4, 5])
    for k in range(2, 6):
        claims.append(rms_claim(f"Fig 1 ({label}): skill {k} R/S, RMS error of the prediction from skill 1", "small",
                                R[:, :, k - 1], pw[:, k - 1], f"over the {xs}"))
    return fig, cal, claims, one


def kept_strengths(out_dir, name: str, recipe, train) -> tuple:
    """``train()``'s (strength, single-skill strength or None) for ``recipe``, and its seconds:
    read back from ``out_dir/<name>.json`` when that panel was drawn from this very recipe (so
    ``--redo`` redraws it without training again), else trained now."""
    import json
    from dataclasses import asdict
    from pathlib import Path

    from models.jsonable import jsonable

    try:
        saved = json.loads((Path(out_dir) / f"{name}.json").read_text())
        numbers = saved["numbers"]
    except (OSError, ValueError, KeyError, TypeError):
        saved = numbers = None
    if (isinstance(numbers, dict) and numbers.get("recipe") == jsonable(asdict(recipe)) and "strength" in numbers
            and ("single_skill_strength" in numbers or not getattr(recipe, "single_skill", False))):
        single = numbers.get("single_skill_strength")
        seconds = numbers.get("train_seconds", saved.get("seconds"))      # panels drawn before kept no train_seconds
        return (np.asarray(numbers["strength"], dtype=float), None if single is None else np.asarray(single, float),
                None if seconds is None else float(seconds))
    t0 = time.time()
    strength, single = train()
    return strength, single, time.time() - t0


def panel_result(out_dir, name: str, recipe, resource: str, x, strength, single, t0: float,
                 train_seconds: float | None = None) -> dict:
    """Draw the data or parameter panel (``calibration_panel``) and write the figure's PNG and
    JSON: the recipe, ``x`` (sizes or widths), the strengths of the 5-skill and the
    single-skill runs, the seconds their training took and both calibrations."""
    from dataclasses import asdict

    from .drawing import finish

    fig, cal, claims, one = calibration_panel(resource, x, strength, single)
    _, const_name, _, _, xs, _ = PANELS[resource]
    numbers = {"recipe": asdict(recipe), xs: x, "strength": strength, "calibration": cal.to_dict(),
               "single_skill_strength": single, "single_skill_calibration": None if one is None else one.to_dict(),
               "train_seconds": train_seconds}
    summary = f"{const_name} = {cal.constant:.4g} on skill 1 of 5" + (
        "" if one is None else f", {one.constant:.4g} on single-skill runs") + "."
    return finish(out_dir, name, fig, numbers, claims, summary, t0)
