"""Budget ladders: a figure run at several budgets between its quick recipe and the papers'
settings, along the one axis its disagreements blame (steps, width, epochs, seeds), so each
claim has its value and interval at every rung and a trend can be read.

A figure declares ``LADDER = Ladder(axis, rungs)`` beside ``QUICK`` and ``FULL``: ``axis``
names a field of its recipe and ``rungs`` the values it takes, cheapest first (the quick
value first, the full one last where it can run). ``rung_recipe`` builds the recipe of one
rung: the quick recipe with that field changed (and, for ``steps``, the learning-rate decay
scaled with it, as the full recipes scale it; for an LM study's ``tokens``, the removal
curves' tokens). ``run_ladder`` runs the rungs through
``interp.figures.reproduce`` (resumable: a finished rung is read back), then writes
``<out>/<figure>_ladder.json`` and ``.png`` (each claim with a number: its value and interval
against the rung) and a verdict per claim that disagrees at some rung:

- ``explained by budget, measured``: at the last rung it agrees with the paper, and its
  value came closer to the paper's at each rung than at the quick one;
- ``moves toward the paper``: closer at the last rung, not yet agreeing;
- ``does not move with budget`` / ``moves away from the paper``: a finding to report;
- ``agrees at the quick budget, not at a larger one``: a finding too;
- ``no test at the last rung``: its interval there is too wide to decide.

>>> from interp.figures import fig5_functions
>>> rung_recipe(fig5_functions.QUICK, fig5_functions.LADDER, 1).nets
((120,), (80, 80), (60, 60, 60))
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Callable

from models.atomic import write_text, writing
from models.jsonable import jsonable
from models.validate import check

from . import FIGURES
from .recipes import Ladder, rung_recipe
from .reproduce import reproduce


_NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def paper_number(paper: str | float | None) -> float | None:
    """The number a claim's ``paper`` column states (``"≈ -1 (late phase)"`` -> -1.0), or None."""
    if isinstance(paper, (int, float)) and not isinstance(paper, bool):
        return float(paper)
    if not isinstance(paper, str):
        return None
    m = _NUMBER.search(paper)
    return float(m.group().replace("−", "-")) if m else None


def verdict(rows: list[dict]) -> str | None:
    """How a claim moved along the ladder (``rows``: its row at each rung, cheapest first);
    None for a claim that agrees at every rung, or that no rung could test.

    >>> verdict([{"paper": "≈ -1", "ours": -2.0, "agree": False}, {"paper": "≈ -1", "ours": -1.02, "agree": True}])
    'explained by budget, measured'
    """
    first, last = rows[0], rows[-1]
    agrees = [r.get("agree") for r in rows]
    if all(a is not False for a in agrees):
        return None
    if first.get("agree") is True:
        if last.get("agree") is True:
            return "agrees at the quick and the last rung, not at every rung between"
        return "agrees at the quick budget, not at a larger one: a finding"
    if last.get("agree") is None:
        return "no test at the last rung (its interval is too wide to decide)"
    target = paper_number(first.get("paper"))
    values = [r.get("ours") for r in rows]
    if target is None or any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
        return "agrees at the last rung" if last.get("agree") is True else "no number to follow"
    dist = [abs(v - target) for v in values]
    if last.get("agree") is True and all(d < dist[0] for d in dist[1:]):
        return "explained by budget, measured"
    if dist[-1] < 0.8 * dist[0]:
        return "moves toward the paper" + (" and agrees at the last rung" if last.get("agree") is True else "")
    if dist[-1] > 1.25 * dist[0]:
        return "moves away from the paper"
    return "does not move with budget"


def run_ladder(name: str, out: str | Path = "runs/ladder", *, rungs: list[int] | None = None, device: str = "cpu",
               executor=None, log: Callable[[str], None] | None = print) -> dict:
    """Run figure ``name`` at each rung of its ``LADDER`` (or the rungs listed) and write
    ``<out>/<name>_ladder.json`` and ``.png``. A rung runs in ``<out>/<family>/<axis>=<value>``,
    where ``family`` names the module of the figure's recipe, so the figures that share a
    recipe (Figs. 4, 7 and 8 the series sweep; Figs. 2 and 6 the x² sweep) share the rung's
    trained runs. Returns the ladder's result: per claim its rows along the rungs and its
    verdict."""
    figure = FIGURES.lookup(name)
    module = figure.load()
    ladder = getattr(module, "LADDER", None)
    check(isinstance(ladder, Ladder), "figure", name, "a figure that declares a LADDER")
    idx = list(range(len(ladder.rungs))) if rungs is None else list(rungs)
    for i in idx:
        check(isinstance(i, int) and 0 <= i < len(ladder.rungs), "rungs", rungs,
              f"indices in [0, {len(ladder.rungs)}) of {ladder.rungs}")
    out = Path(out)
    say = log or (lambda s: None)
    per_rung = []
    for i in idx:
        recipe = rung_recipe(module.QUICK, ladder, i)
        family = type(recipe).__module__.rsplit(".", 1)[-1].removesuffix("_sweep").removesuffix("_runs")
        folder = out / family / f"{ladder.axis}={_slug(ladder.rungs[i])}"
        say(f"{name}: rung {i} ({ladder.axis} = {ladder.rungs[i]}) into {folder}")
        res = reproduce([name], out=folder, registry={name: figure}, device=device, executor=executor, log=say,
                           recipes={name: recipe})[name]
        per_rung.append({"rung": i, "value": ladder.rungs[i], "status": res.get("status"),
                         "seconds": res.get("seconds"), "claims": res.get("claims", [])})
    # a claim is followed by its place in the figure's list (its text may name the rung's value,
    # as Fig. 5's name the nets), or by its text when the rungs state different numbers of claims
    same = len({len(r["claims"]) for r in per_rung}) == 1
    claims: dict[str, list] = {}
    for r in per_rung:
        for j, c in enumerate(r["claims"]):
            key = per_rung[0]["claims"][j]["claim"] if same else c["claim"]
            claims.setdefault(key, []).append({"rung": r["rung"], "value": r["value"], **c})
    result = {"figure": name, "axis": ladder.axis, "rungs": [r["value"] for r in per_rung], "note": ladder.note,
              "runs": [{k: r[k] for k in ("rung", "value", "status", "seconds")} for r in per_rung],
              "claims": [{"claim": k, "verdict": verdict(rows) if len(rows) == len(per_rung) else None, "rows": rows}
                         for k, rows in claims.items()]}
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{name}_ladder.json", json.dumps(jsonable(result), indent=1))
    _plot(result, out / f"{name}_ladder.png")
    for c in result["claims"]:
        if c["verdict"]:
            vals = ", ".join(f"{r['value']}: {_short(r.get('ours'))} {_short(r.get('interval'))}" for r in c["rows"])
            say(f"  {c['claim']}: {c['verdict']} ({ladder.axis} -> ours [interval]: {vals})")
    return result


def _slug(value) -> str:
    """A rung's value as a folder name: ``(60,), (40, 40)`` -> ``60_40x40``."""
    if isinstance(value, tuple):
        return "_".join(_slug(v) for v in value) if any(isinstance(v, tuple) for v in value) else \
            "x".join(str(v) for v in value)
    return str(value)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return "—" if v is None else str(v)


def _plot(result: dict, path: Path) -> None:
    """One panel per claim that disagrees at some rung and has a number: ours (with its
    interval) against the rung, the paper's value as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [c for c in result["claims"] if any(r.get("agree") is False for r in c["rows"])
             and all(isinstance(r.get("ours"), (int, float)) for r in c["rows"])]
    n = max(1, len(shown))
    cols = min(3, n)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(4.6 * cols, 3.4 * ((n + cols - 1) // cols)),
                             squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    if not shown:
        axes.flat[0].text(0.5, 0.5, "no disagreeing claim with a number", ha="center", va="center")
    for ax, c in zip(axes.flat, shown):
        xs = list(range(len(c["rows"])))
        ys = [r["ours"] for r in c["rows"]]
        lo = [r["interval"][0] if r.get("interval") else y for r, y in zip(c["rows"], ys)]
        hi = [r["interval"][1] if r.get("interval") else y for r, y in zip(c["rows"], ys)]
        ax.errorbar(xs, ys, yerr=[[y - a for y, a in zip(ys, lo)], [b - y for y, b in zip(ys, hi)]], fmt="o-",
                    capsize=3, color="C0", label="ours (95% interval)")
        target = paper_number(c["rows"][0].get("paper"))
        if target is not None:
            ax.axhline(target, color="C3", ls="--", lw=1, label=f"paper: {c['rows'][0].get('paper')}")
        ax.set_xticks(xs, [str(r["value"]) for r in c["rows"]], fontsize=7)
        ax.set_xlabel(result["axis"])
        ax.set_title(f"{c['claim'][:60]}\n{c['verdict'] or ''}", fontsize=8)
        ax.legend(fontsize=6)
    fig.suptitle(f"{result['figure']}: claims along the budget ladder ({result['axis']})", fontsize=10)
    fig.tight_layout()
    with writing(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
