"""Small helpers shared by the figure scripts: figures, claim rows, saving, a script entry point.

Not a figure itself (``interp reproduce`` only runs the registered scripts)."""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from interp.reproduce import jsonable


def figure(n_panels: int, size=(4.2, 3.4), rows: int = 1):
    """A matplotlib figure with ``rows`` rows of ``n_panels`` panels (no pyplot state); the
    axes come back as one list, row by row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * n_panels, size[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, n_panels, i + 1) for i in range(rows * n_panels)]


def cached_sweep(out_dir, name: str, quick: bool, task, net, recipe: dict, device="cpu"):
    """``interp.sweep_alpha`` over ``recipe['alphas'] × recipe['seeds']`` (``steps``,
    ``decay_every``), trained once per output folder and recipe: the run is the trainer's
    checkpoint under ``<out>/_cache/<name>_<quick|full>/``, so the figures that share a sweep
    (x²: Figs. 2 and 6; series: Figs. 4, 7 and 8) read it back instead of training again.
    Delete the folder to train anew."""
    import models
    from interp.sweep import sweep_alpha

    cfg = models.TrainConfig(steps=recipe["steps"], lr_decay_every=recipe["decay_every"], progress=False,
                             eval_points=10)
    folder = Path(out_dir) / "_cache" / f"{name}_{'quick' if quick else 'full'}"
    return sweep_alpha(task, net, sorted(set(recipe["alphas"])), recipe["seeds"], cfg, checkpoint=folder,
                       device=device)


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
    fig.savefig(out / f"{name}.png", dpi=110)
    res = {"figure": name, "png": f"{name}.png", "claims": claims, "summary": summary,
           "numbers": jsonable(numbers)}
    if t0 is not None:
        res["seconds"] = round(time.time() - t0, 1)
    (out / f"{name}.json").write_text(json.dumps(jsonable(res), indent=1))
    return res


def main(run, name: str, doc: str) -> None:
    """Script entry point: ``python examples/<name>.py [--full] [--out DIR] [--device D]``."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the paper's settings (meant for a GPU)")
    ap.add_argument("--out", default=f"runs/{name}")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import inspect

    kw = {"device": args.device} if "device" in inspect.signature(run).parameters else {}
    t0 = time.time()
    res = run(args.out, quick=not args.full, **kw)
    for c in res.get("claims", []):
        iv = c.get("interval")
        print(f"- {c['claim']}: paper {c['paper']}, ours {c['ours']}"
              + (f" [{iv[0]:.3g}, {iv[1]:.3g}]" if iv else "") + f", agree: {c['agree']}")
    print(f"wrote {args.out}/{name}.png and .json in {time.time() - t0:.0f} s")


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
