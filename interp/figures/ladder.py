"""Budget ladders: a figure run at several budgets between its quick recipe and the papers'
settings, so each claim has its value and interval at every rung and a trend can be read.
The papers' figures walk the recipe path: every rung moves each axis the full recipe moves
(width, steps and seeds together, say), so a verdict along the ladder reads as "toward the
paper's settings"; the series and SmolLM2 ladders move the one axis their recipes differ in.

A figure declares ``LADDER = Ladder(axis, rungs, along=...)`` beside ``QUICK`` and ``FULL``:
``axis`` names a field of its recipe and ``rungs`` the values it takes, cheapest first (the
quick value first, the full one last where it can run); ``along`` the other fields that move
with it. ``rung_recipe`` builds the recipe of one rung: the quick recipe with those fields
changed (and, where ``steps`` moves, the learning-rate decay keeping its share, as the full
recipes have it; for an LM study's ``tokens``, the removal curves' tokens). A rung runs in
the folder ``rung_folder`` names. ``run_ladder`` runs the rungs through
``interp.figures.reproduce`` (resumable: a finished rung is read back), then writes
``<out>/<figure>_ladder.json`` and ``.png`` (each claim with a number: its value and interval
against the rung) and a verdict per claim that disagrees at some rung (see ``verdict``: the
way toward the paper follows the claim's test, its direction included, and a rung is decided
on its interval, with no test where the interval is too wide to decide):

- ``explained by budget, measured``: at the last rung it agrees with the paper, and its
  value came closer to the paper's at each rung than at the quick one;
- ``moves toward the paper``: closer at the last rung, not yet agreeing;
- ``does not move with budget`` / ``moves away from the paper``: a finding to report;
- ``agrees at the quick budget, not at a larger one``: a finding too;
- ``no test at the last rung``: its interval there is too wide to decide.

``revise_ladder`` recomputes the verdicts of a written ladder JSON from its stored rows
(``interp reproduce --ladder FIG --verdicts-only``), deciding again the rows whose figure
declares their test (``TESTS``).

>>> from interp.figures import fig5_functions
>>> rung_recipe(fig5_functions.QUICK, fig5_functions.LADDER, 1).nets
((120,), (80, 80), (60, 60, 60))
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

from models.atomic import write_text, writing
from models.jsonable import jsonable
from models.validate import check

from . import FIGURES
from .claims import ClaimTest, claim_test, paper_number
from .recipes import Ladder, rung_recipe
from .reproduce import reproduce


def verdict(rows: list[dict], test: ClaimTest | None = None) -> str | None:
    """How a claim moved along the ladder (``rows``: its row at each rung, cheapest first);
    None for a claim that agrees wherever it is tested, tested at the last rung or nowhere.

    The way toward the paper is the claim's ``test`` (default ``claim_test`` of the first row):
    toward -1 for "≈ -1", down for "< -1", off -1 for "not -1". A rung agrees or not by its
    row's ``agree``, which is decided on its interval (a rung whose interval holds the paper's
    value agrees; one too wide to decide has None). The verdicts, in the order they are tried:

    - ``no test at the last rung``: the last rung's interval cannot decide;
    - ``agrees at the quick and the last rung ...`` / ``agrees at the quick budget, not at a
      larger one: a finding``;
    - the last rung agrees: ``explained by budget, measured`` when every rung's value lies
      closer to the paper's side than the quick one's; ``moves toward the paper and agrees at
      the last rung`` when the last value is closer by a fifth; else ``agrees at the last rung
      (within its interval), its value no closer than at the quick budget``;
    - the last rung disagrees: ``moves toward the paper`` (closer by a fifth of the quick
      rung's distance), ``moves away from the paper`` (farther by a quarter) or ``does not move
      with budget``; a move that keeps the quick rung's value inside the last rung's interval
      says so.

    >>> verdict([{"paper": "≈ -1", "ours": -2.0, "agree": False}, {"paper": "≈ -1", "ours": -1.02, "agree": True}])
    'explained by budget, measured'
    >>> verdict([{"paper": "not -1", "ours": -0.6, "interval": [-1.3, -0.04], "agree": False},
    ...          {"paper": "not -1", "ours": -0.28, "interval": [-1.8, 0.36], "agree": False}])
    "moves toward the paper (the quick rung's value lies inside the last rung's interval)"
    """
    first, last = rows[0], rows[-1]
    agrees = [r.get("agree") for r in rows]
    if all(a is not False for a in agrees) and (last.get("agree") is not None or True not in agrees):
        return None
    if last.get("agree") is None:
        return "no test at the last rung (its interval is too wide to decide)"
    if first.get("agree") is True:
        if last.get("agree") is True:
            return "agrees at the quick and the last rung, not at every rung between"
        return "agrees at the quick budget, not at a larger one: a finding"
    test = test or claim_test(first)
    values = [r.get("ours") for r in rows]
    if test is None or test.kind == "none" or \
            any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
        return "agrees at the last rung" if last.get("agree") is True else "no number to follow"
    gap = [test.gap(v) for v in values]
    closer, farther = gap[0] - gap[-1] > 0.2 * abs(gap[0]), gap[-1] - gap[0] > 0.25 * abs(gap[0])
    if last.get("agree") is True:
        if all(g < gap[0] for g in gap[1:]):
            return "explained by budget, measured"
        if closer:
            return "moves toward the paper and agrees at the last rung"
        within = " (within its interval)" if last.get("interval") else ""
        return f"agrees at the last rung{within}, its value no closer than at the quick budget"
    iv = last.get("interval")
    noise = " (the quick rung's value lies inside the last rung's interval)" \
        if iv and iv[0] <= values[0] <= iv[1] else ""
    if closer:
        return "moves toward the paper" + noise
    if farther:
        return "moves away from the paper" + noise
    return "does not move with budget"


def declared_tests(module) -> dict[str, ClaimTest]:
    """The tests a figure module declares for its claims (``TESTS``: claim-name prefix -> test)."""
    tests = getattr(module, "TESTS", {}) or {}
    check(isinstance(tests, dict) and all(isinstance(t, ClaimTest) for t in tests.values()), "TESTS", tests,
          "a dict of claim-name prefix -> ClaimTest")
    return tests


def declared_test(tests: dict[str, ClaimTest], name: str) -> ClaimTest | None:
    """The test of claim ``name``: the one under the longest prefix of ``name`` in ``tests``."""
    keys = [k for k in tests if name.startswith(k)]
    return tests[max(keys, key=len)] if keys else None


def revise(result: dict, tests: dict[str, ClaimTest]) -> dict:
    """A ladder's result with its rows decided again and its verdicts recomputed from the
    stored values (no training): a claim with a test in ``tests`` (see ``declared_tests``)
    gets that test in each row, and each row with an interval is decided by it (a note says
    so where the decision changed)."""
    claims = []
    for c in result["claims"]:
        test = declared_test(tests, c["claim"])
        rows = []
        for r in c["rows"]:
            r = dict(r)
            if test is not None:
                r["test"] = test.as_dict()
                if r.get("interval") is not None or test.kind == "none":
                    agree = test.decide(r.get("interval"))
                    if agree != r.get("agree"):
                        word = {True: "agree", False: "disagree", None: "no test"}
                        why = "shown, not tested" if test.kind == "none" else \
                            f"decided again on the stored interval by its test ({test.kind} {test.value:g})"
                        r["note"] = (r.get("note") or "") + f"; {why}: {word[agree]} (was {word[r.get('agree')]})"
                    r["agree"] = agree
            rows.append(r)
        complete = len(rows) == len(result["runs"])
        claims.append({**c, "rows": rows, "verdict": verdict(rows, test) if complete else None})
    return {**result, "claims": claims}


def revise_ladder(path: str | Path, log: Callable[[str], None] | None = print) -> dict:
    """Recompute the verdicts of a written ``<figure>_ladder.json`` (and its ``.png``) from its
    stored rows, with the figure's current ``TESTS`` (``interp reproduce --ladder FIG
    --verdicts-only``): nothing is trained or read but the file. Returns the revised result."""
    path = Path(path)
    check(path.is_file(), "path", str(path), "a ladder JSON written by run_ladder")
    old = json.loads(path.read_text())
    check(isinstance(old, dict) and "claims" in old and "figure" in old, "path", str(path),
          "a ladder JSON written by run_ladder")
    result = revise(old, declared_tests(FIGURES.lookup(old["figure"]).load()))
    write_text(path, json.dumps(jsonable(result), indent=1))
    _plot(result, path.with_suffix(".png"))
    say = log or (lambda s: None)
    for before, after in zip(old["claims"], result["claims"]):
        if before.get("verdict") != after["verdict"]:
            say(f"  {after['claim']}: {before.get('verdict')} -> {after['verdict']}")
    return result


def run_ladder(name: str, out: str | Path = "runs/ladder", *, rungs: list[int] | None = None, device: str = "cpu",
               executor=None, redo: bool = False, log: Callable[[str], None] | None = print) -> dict:
    """Run figure ``name`` at each rung of its ``LADDER`` (or the rungs listed) and write
    ``<out>/<name>_ladder.json`` and ``.png``. A rung runs in ``<out>/<family>/<axis>=<value>``,
    where ``family`` names the module of the figure's recipe, so the figures that share a
    recipe (Figs. 4, 7 and 8 the series sweep; Figs. 2 and 6 the x² sweep) share the rung's
    trained runs; a rung drawn before is read back unless ``redo`` (which draws it again from
    its trained runs). Returns the ladder's result: per claim its rows along the rungs and its
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
        folder = out / family / rung_folder(module.QUICK, ladder, i)
        say(f"{name}: rung {i} ({', '.join(f'{k} = {v}' for k, v in ladder.moves(i).items())}) into {folder}")
        res = reproduce([name], out=folder, redo=redo, registry={name: figure}, device=device, executor=executor,
                        log=say, recipes={name: recipe})[name]
        trained = (res.get("numbers") or {}).get("train_seconds")     # a panel drawn again from kept strengths
        per_rung.append({"rung": i, "value": ladder.rungs[i], "status": res.get("status"),
                         "seconds": res.get("seconds"), **({"train_seconds": trained} if trained else {}),
                         "claims": res.get("claims", []),
                         **({"along": {f: v[i] for f, v in ladder.along}} if ladder.along else {})})
    # a claim is followed by its place in the figure's list (its text may name the rung's value,
    # as Fig. 5's name the nets), or by its text when the rungs state different numbers of claims
    same = len({len(r["claims"]) for r in per_rung}) == 1
    claims: dict[str, list] = {}
    for r in per_rung:
        for j, c in enumerate(r["claims"]):
            key = per_rung[0]["claims"][j]["claim"] if same else c["claim"]
            claims.setdefault(key, []).append({"rung": r["rung"], "value": r["value"], **c})
    result = {"figure": name, "axis": ladder.axis, "rungs": [r["value"] for r in per_rung], "note": ladder.note,
              "runs": [{k: r[k] for k in ("rung", "value", "status", "seconds", "train_seconds", "along") if k in r}
                       for r in per_rung],
              "claims": [{"claim": k, "verdict": None, "rows": rows} for k, rows in claims.items()]}
    result = revise(result, declared_tests(module))
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{name}_ladder.json", json.dumps(jsonable(result), indent=1))
    _plot(result, out / f"{name}_ladder.png")
    for c in result["claims"]:
        if c["verdict"]:
            vals = ", ".join(f"{r['value']}: {_short(r.get('ours'))} {_short(r.get('interval'))}" for r in c["rows"])
            say(f"  {c['claim']}: {c['verdict']} ({ladder.axis} -> ours [interval]: {vals})")
    return result


def rung_folder(quick, ladder: Ladder, i: int) -> str:
    """Rung ``i``'s folder name: ``axis=value``, then ``,field=value`` for each ``along`` field
    whose value differs from the quick recipe's (so the quick rung of a recipe-path ladder is
    the folder a one-axis ladder's quick rung was, and a rung that moves more axes never
    reads back a rung that moved fewer).

    >>> from interp.figures import square_sweep
    >>> lad = Ladder("width", (100, 250), along=(("steps", (20_000, 40_000)),))
    >>> rung_folder(square_sweep.QUICK, lad, 0), rung_folder(square_sweep.QUICK, lad, 1)
    ('width=100', 'width=250,steps=40000')
    """
    name = f"{ladder.axis}={_slug(ladder.rungs[i])}"
    return name + "".join(f",{f}={_slug(v[i])}" for f, v in ladder.along if v[i] != getattr(quick, f))


def _slug(value) -> str:
    """A rung's value as a folder name: ``(60,), (40, 40)`` -> ``60_40x40``; a run of
    consecutive integers (seeds) ``0-15``."""
    if isinstance(value, tuple) and len(value) > 2 and all(isinstance(v, int) for v in value) \
            and list(value) == list(range(value[0], value[0] + len(value))):
        return f"{value[0]}-{value[-1]}"
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
