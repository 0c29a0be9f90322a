"""Small helpers shared by the figures: recipes of α sweeps, figures, claim rows, saving, and
the entry point of the scripts in ``examples/``. Not a figure itself."""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.atomic import write_text, writing

from models.jsonable import jsonable


def figure(n_panels: int, size=(4.2, 3.4), rows: int = 1):
    """A matplotlib figure with ``rows`` rows of ``n_panels`` panels (no pyplot state); the
    axes come back as one list, row by row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * n_panels, size[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, n_panels, i + 1) for i in range(rows * n_panels)]


def runs_dir(out_dir) -> Path:
    """Where the figures of one output folder keep their training runs (one folder per run,
    named by its content hash): a run that two figures share is trained once."""
    return Path(out_dir) / "_runs"


@dataclass(frozen=True)
class SweepRecipe:
    """An α × seeds sweep: Adam lr 0.01 × 0.3 every ``decay_every`` of ``steps`` steps, batch
    500 fresh samples, λ1 = 1e-4, λ2 = 5e-4 (SPEC A), history at 10 log-spaced steps."""

    alphas: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    decay_every: int

    def train(self):
        import models
        return models.TrainConfig(steps=self.steps, lr_decay_every=self.decay_every, progress=False, eval_points=10)


def alpha_grid(task, net, recipe: SweepRecipe):
    """The runs of ``recipe``'s α × seeds sweep of MLPs shaped ``net`` on ``task``
    (``interp.sweep.alpha_grid``; α sorted, each once)."""
    from interp.sweep import alpha_grid as grid
    return grid(task, net, sorted(set(recipe.alphas)), recipe.seeds, recipe.train())


def train_runs(out_dir, sweep, device="cpu"):
    """Train the runs of ``sweep`` under ``runs_dir(out_dir)`` that are not there yet (in this
    process; ``interp reproduce`` has trained them already when it ran every figure's
    sweeps first). Returns the sweep's table."""
    from interp.runs import execute
    return execute(sweep, runs_dir(out_dir), device=device, progress=False)


def alpha_sweep(out_dir, task, net, recipe: SweepRecipe, device="cpu"):
    """``interp.sweep_alpha`` over the runs of ``alpha_grid``, kept under ``runs_dir(out_dir)``
    (trained there unless done already)."""
    from interp.sweep import sweep_alpha
    return sweep_alpha(task, net, sorted(set(recipe.alphas)), recipe.seeds, recipe.train(),
                       checkpoint=runs_dir(out_dir), device=device)


NO_FIT = "no fit: fewer than 3 usable points or 3 distinct x (e.g. counts saturated at the width)"


def claim(claim: str, paper, ours, interval=None, agree=None, note: str = "") -> dict:
    """One row of the report's claims table."""
    ours = None if ours is None else float(ours)
    if ours is not None and not math.isfinite(ours):
        ours = None
    iv = None if interval is None else [float(interval[0]), float(interval[1])]
    return {"claim": claim, "paper": paper, "ours": ours, "interval": iv,
            "agree": None if agree is None else bool(agree), "note": note}


def covers(interval, value) -> bool:
    return bool(interval[0] <= value <= interval[1])


def decides(interval, value, null):
    """Agreement that means something: True when ``interval`` covers ``value`` and excludes
    ``null`` (the no-effect alternative), False when it excludes ``value``, None when it covers
    both (too wide to tell them apart). ``interval`` None gives None."""
    if interval is None:
        return None
    if not covers(interval, value):
        return False
    return None if covers(interval, null) else True


def exponent_claim(name: str, paper, fit, agree, note: str, no_fit: str = NO_FIT) -> dict:
    """Claim on a fitted exponent, decided by ``agree(fit)``; ``fit`` None (see ``safe_fit``)
    gives a row with no number and no test, noted ``no_fit``."""
    if fit is None:
        return claim(name, paper, None, None, None, no_fit)
    return claim(name, paper, fit.exponent, fit.exponent_interval, agree(fit), note)


def fit_claim(name: str, fit, paper_value: float, paper_text: str | None = None, note: str = "",
              null: float | None = None, no_fit: str = NO_FIT) -> dict:
    """Claim that a fitted exponent matches ``paper_value`` (agree: inside our 95% interval;
    with ``null``, also ``null`` outside it, else no test: see ``decides``)."""
    paper = paper_text or paper_value
    if null is None:
        return exponent_claim(name, paper, fit, lambda f: covers(f.exponent_interval, paper_value),
                              note or "agree: paper's value in our 95% bootstrap CI", no_fit)
    return exponent_claim(name, paper, fit, lambda f: decides(f.exponent_interval, paper_value, null),
                          note or f"agree: paper's value in our 95% bootstrap CI and {null:g} outside it; "
                                  "no test when the CI covers both", no_fit)


def finish(out_dir, name: str, fig, numbers: dict, claims: list[dict], summary: str = "", t0: float | None = None) -> dict:
    """Save ``<name>.png`` and ``<name>.json``; return the run() dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tidy(fig)
    with writing(out / f"{name}.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    res = {"figure": name, "png": f"{name}.png", "claims": claims, "summary": summary,
           "numbers": jsonable(numbers)}
    if t0 is not None:
        res["seconds"] = round(time.time() - t0, 1)
    write_text(out / f"{name}.json", json.dumps(jsonable(res), indent=1))
    return res


def main(figure) -> None:
    """Entry point of ``examples/<name>.py``: ``[--full] [--out DIR] [--device D]`` runs
    ``figure`` (a module of ``interp.figures``) with its QUICK or FULL recipe and prints its
    claims."""
    ap = argparse.ArgumentParser(description=(figure.__doc__ or "").split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the paper's settings (meant for a GPU)")
    ap.add_argument("--out", default=f"runs/{figure.NAME}")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    t0 = time.time()
    res = figure.run(args.out, figure.FULL if args.full else figure.QUICK, device=args.device)
    for c in res.get("claims", []):
        iv = c.get("interval")
        print(f"- {c['claim']}: paper {c['paper']}, ours {c['ours']}"
              + (f" [{iv[0]:.3g}, {iv[1]:.3g}]" if iv else "") + f", agree: {c['agree']}")
    print(f"wrote {args.out}/{figure.NAME}.png and .json in {time.time() - t0:.0f} s")


def log_ticks(ax, which="both"):
    if which in ("x", "both"):
        ax.set_xscale("log")
    if which in ("y", "both"):
        ax.set_yscale("log")


def geo_mean(a):
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.exp(np.mean(np.log(a)))) if a.size else float("nan")


def tidy(fig) -> None:
    """Readable log axes: no crowded minor-tick labels where two or more powers of ten show;
    plain labels where fewer do (matplotlib would write a single 10^1, or 2×10^1, 3×10^1, ...
    side by side): at 1, 2 and 5 × 10^k over one to two decades, at 1, 2, 3 and 5 × 10^k over
    half a decade to one, at every tick over less."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def plain(keep):
        def fmt(v, _pos):
            m = v / 10 ** math.floor(math.log10(v) + 1e-9)
            return f"{v:g}" if keep is None or (round(m) in keep and abs(m - round(m)) < 1e-6) else ""
        return FuncFormatter(fmt)

    for ax in fig.axes:
        for axis, scale, lim in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()),
                                 (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
            if scale != "log" or min(lim) <= 0:
                continue
            lo, hi = math.log10(min(lim)), math.log10(max(lim))
            decades = math.floor(hi) - math.ceil(lo) + 1             # powers of ten inside the limits
            if decades >= 2:
                axis.set_minor_formatter(NullFormatter())
                continue
            axis.set_major_formatter(plain(None))
            axis.set_minor_formatter(plain((2, 5) if hi - lo > 1.08 else (2, 3, 5) if hi - lo > 0.5 else None))


def safe_fit(x, y, n_boot: int = 500):
    """``fit_power_law`` on the finite positive pairs, or None when they cannot support a fit
    (fewer than 3 points or 3 distinct x, e.g. neuron counts saturated at the width)."""
    from interp.fits import fit_power_law

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3 or np.unique(x[ok]).size < 3:
        return None
    return fit_power_law(x[ok], y[ok], n_boot=n_boot)
