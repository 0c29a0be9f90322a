"""Reproduce the papers' figures: train what they need, draw them, and write a report.

The figures are the modules of :mod:`interp.figures` (a registry maps a name to its module
and title). :func:`reproduce` collects the training runs of every asked figure
(``module.sweeps(recipe)``), trains those not done yet under ``<out>/_runs/`` through one
executor (in this process, or Dask workers), then runs each figure's ``run``, which reads the
runs back, writes ``<name>.png`` and ``<name>.json`` and returns its claims. A figure already
done with the same recipe is skipped unless ``redo``; one that fails is recorded (the
traceback kept beside the figures) and the others go on. ``REPORT.md`` embeds each figure and
one table of claims.

>>> sorted(FIGURES)[:3]
['appC_allocation', 'chinchilla', 'emergence_fig1_data']
"""
from __future__ import annotations

import json
import math
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping, Sequence

from models.atomic import write_text
from models.jsonable import jsonable
from models.validate import check

from ..experiments.execution import execute
from ..experiments.runs import Sweep
from . import FIGURES, Figure

def _json_path(out: Path, name: str) -> Path:
    return out / f"{name}.json"


def _error_path(out: Path, name: str) -> Path:
    return out / f"{name}.error.txt"


def _done_before(out: Path, name: str, recipe_name: str, recipe) -> dict | None:
    """The figure's saved result when it was made with this very recipe, else None."""
    try:
        res = json.loads(_json_path(out, name).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = res.get("recipe") == recipe_name and res.get("recipe_config") == jsonable(recipe)
    return res if same else None


def train_sweeps(sweeps: Mapping[str, list], out: Path, executor=None, device: str = "cpu",
                 group_size: int | None = None, checkpoint_every: int = 1000,
                 say: Callable[[str], None] = lambda s: None) -> str | None:
    """Train the runs of ``sweeps`` (figure name -> its list of ``Sweep``), each distinct run
    once, under ``out/_runs``. Returns None, or the error when some failed (the finished runs
    are kept, and the figures that need the rest will say so)."""
    runs = [run for declared in sweeps.values() for sweep in declared for run in sweep.runs]
    if not runs:
        return None
    sweep = Sweep(tuple(dict.fromkeys(runs)), group_size)
    users = [name for name, declared in sweeps.items() if declared]
    say(f"training the runs of {', '.join(users)}: {len(sweep)} distinct runs in {len(sweep.groups())} groups "
        f"(done ones are skipped) under {out / '_runs'}")
    try:
        execute(sweep, out / "_runs", executor, checkpoint_every=checkpoint_every, device=device)
    except RuntimeError as e:
        say(f"training: {e}")
        return str(e)
    return None


def reproduce(figures: Sequence[str] | None = None, quick: bool = True, out: str | Path = "runs/reproduce",
              redo: bool = False, *, device: str = "cpu", registry: Mapping[str, Figure] | None = None,
              executor=None, group_size: int | None = None, checkpoint_every: int = 1000,
              log: Callable[[str], None] | None = print, recipes: Mapping[str, object] | None = None) -> dict[str, dict]:
    """Run ``figures`` (default: all registered) into ``out`` and write ``out/REPORT.md``.

    First the runs every figure to run declares are trained with ``executor`` (default: in
    this process; see :mod:`interp.experiments.executors`), then each figure draws from them. A figure
    whose ``<name>.json`` exists from the same recipe (quick or full, with the same values)
    is skipped (its numbers are read back) unless ``redo``. A figure that raises is recorded
    (``status: failed``, traceback in ``<name>.error.txt``) and the run goes on. Returns
    name -> result dict (with ``status`` 'ran', 'skipped' or 'failed' and ``seconds``).
    ``recipes`` (name -> recipe) runs those figures with a recipe of their own instead (the
    rungs of ``interp.figures.ladder``); their results say ``recipe: 'custom'``, or 'quick' or
    'full' where the recipe equals the figure's own (so a ladder's first rung and
    ``--quick`` make, and read back, the same result)."""
    reg = dict(FIGURES if registry is None else registry)
    names = list(reg) if not figures else list(figures)
    unknown = [n for n in names if n not in reg]
    check(not unknown, "figures", unknown, f"names from {', '.join(reg)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = log or (lambda s: None)
    results: dict[str, dict] = {}
    recipe = "quick" if quick else "full"
    if not quick and str(device) == "cpu":
        say("note: --full runs the papers' settings (up to 300 000 steps, widths up to 1000, 16 seeds), "
            "meant for a GPU (--device cuda); on the CPU it takes many hours")
    t_all = time.time()
    todo: dict[str, tuple[ModuleType, object, str]] = {}
    declared: dict[str, list] = {}
    for i, name in enumerate(names, 1):
        try:
            module = reg[name].load()
            fig_recipe = module.QUICK if quick else module.FULL
            label = recipe
            if recipes and name in recipes:
                fig_recipe = recipes[name]
                label = "quick" if fig_recipe == module.QUICK else "full" if fig_recipe == module.FULL else "custom"
            done = None if redo else _done_before(out, name, label, fig_recipe)
            if done is None:
                declared[name] = list(module.sweeps(fig_recipe)) if hasattr(module, "sweeps") else []
        except Exception as exc:  # noqa: BLE001 - a figure that cannot load is reported like one that fails
            results[name] = _failed(out, name, exc, 0.0, say, f"[{i}/{len(names)}] ")
            continue
        if done is not None:
            results[name] = {**done, "status": "skipped"}
            say(f"[{i}/{len(names)}] {name}: done before with this recipe, skipped (--redo to run again)")
        else:
            todo[name] = (module, fig_recipe, label)
    train_sweeps(declared, out, executor, device, group_size, checkpoint_every, say)
    for i, (name, (module, fig_recipe, label)) in enumerate(todo.items(), 1):
        say(f"[{i}/{len(todo)}] {name}: running ({label}) ...")
        t0 = time.time()
        try:
            res = dict(module.run(out, fig_recipe, device=device) or {})
            res.update(seconds=round(time.time() - t0, 1), recipe=label, recipe_config=jsonable(fig_recipe))
            res.setdefault("figure", name)
            res.setdefault("png", f"{name}.png")
            res.setdefault("claims", [])
            res = jsonable(res)
            jpath = _json_path(out, name)
            if jpath.exists():      # keep what the script wrote, add the runner's fields
                try:
                    written = json.loads(jpath.read_text())
                    written.update({k: res[k] for k in ("seconds", "recipe", "recipe_config", "claims", "figure",
                                                        "png")})
                    res = {**res, **written}
                except (OSError, json.JSONDecodeError):
                    pass
            write_text(jpath, json.dumps(res, indent=1))
            _error_path(out, name).unlink(missing_ok=True)
            res["status"] = "ran"
            say(f"[{i}/{len(todo)}] {name}: done in {res['seconds']:.0f} s")
        except Exception as exc:  # noqa: BLE001 - one failing figure must not stop the others
            res = _failed(out, name, exc, time.time() - t0, say, f"[{i}/{len(todo)}] ")
        results[name] = res
    # the report covers every registered figure found in the folder, not only this run's
    for name in reg:
        if name not in results and _json_path(out, name).exists():
            try:
                results[name] = {**json.loads(_json_path(out, name).read_text()), "status": "skipped"}
            except (OSError, json.JSONDecodeError):
                pass
    path = write_report(out, results, reg)
    say(f"wrote {path} ({time.time() - t_all:.0f} s)")
    return results


def _failed(out: Path, name: str, exc: BaseException, seconds: float, say, prefix: str) -> dict:
    """Record a figure that raised: its traceback beside the figures, a failed result."""
    write_text(_error_path(out, name), traceback.format_exc())
    res = {"figure": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": round(seconds, 1),
           "claims": []}
    say(f"{prefix}{name}: FAILED after {res['seconds']:.0f} s: {res['error']}")
    return res


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return "—"
        a = abs(v)
        if a != 0 and (a >= 1e4 or a < 1e-2):
            return f"{v:.3g}"
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    if isinstance(v, (list, tuple)):
        if len(v) == 2 and all(isinstance(x, (int, float)) or x is None for x in v):
            return f"[{_fmt(v[0])}, {_fmt(v[1])}]"
        return ", ".join(_fmt(x) for x in v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def _agree(v) -> str:
    if v is None:
        return "n/a"
    return "yes" if v else "**no**"


def replicates(res: dict) -> int | None:
    """How many seeds (or repeats) the figure ``res`` trained per setting, from its recipe:
    ``len(seeds)``, else ``repeats``, else None (one model, or no training: a theory figure,
    the SmolLM2 study)."""
    recipe = (res.get("numbers") or {}).get("recipe")
    if not isinstance(recipe, dict):
        return None
    if isinstance(recipe.get("seeds"), (list, tuple)):
        return len(recipe["seeds"])
    return recipe.get("repeats") if isinstance(recipe.get("repeats"), int) else None


def claims_table(results: Mapping[str, dict]) -> str:
    """The markdown table of claims: figure, claim, paper, ours, our interval, seeds (per
    setting: a row's own ``seeds``, else ``replicates`` of its figure), agree?, note."""
    rows = ["| figure | claim | paper | ours | our interval | seeds | agree? | note |",
            "|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        if res.get("status") == "failed":
            rows.append(f"| {name} | (figure failed) | — | — | — | — | n/a | {_fmt(res.get('error', ''))} |")
            continue
        for c in res.get("claims", []):
            rows.append(f"| {name} | {_fmt(c.get('claim'))} | {_fmt(c.get('paper'))} | {_fmt(c.get('ours'))} | "
                        f"{_fmt(c.get('interval'))} | {_fmt(c.get('seeds', replicates(res)))} | "
                        f"{_agree(c.get('agree'))} | {_fmt(c.get('note', ''))} |")
    return "\n".join(rows)


def write_report(out: str | Path, results: Mapping[str, dict], registry: Mapping[str, Figure] | None = None) -> Path:
    """Write ``out/REPORT.md``: a summary, the claims table, then each figure embedded."""
    reg = FIGURES if registry is None else registry
    out = Path(out)
    order = [n for n in reg if n in results] + [n for n in results if n not in reg]
    ordered = {n: results[n] for n in order}
    claims = [c for r in ordered.values() for c in r.get("claims", [])]
    n_yes = sum(1 for c in claims if c.get("agree") is True)
    n_no = sum(1 for c in claims if c.get("agree") is False)
    failed = [n for n, r in ordered.items() if r.get("status") == "failed"]
    recipes = sorted({r.get("recipe") for r in ordered.values() if r.get("recipe")})
    total = sum(float(r.get("seconds") or 0) for r in ordered.values())
    lines = ["# Reproduction report", "",
             f"Recipe: {', '.join(recipes) or 'unknown'}. Figures: {len(ordered)} "
             f"({len(failed)} failed). Claims: {len(claims)}, {n_yes} agree, {n_no} disagree, "
             f"{len(claims) - n_yes - n_no} without a test. Compute time of the figures: {total / 60:.1f} min.", "",
             "Every number under *ours* was computed by the figure's script in this folder; the *paper* "
             "column quotes the papers. *agree?* applies the test stated in the note (usually: the paper's "
             "number lies in our 95% interval).", "", "## Claims", "", claims_table(ordered), "",
             "## Figures", ""]
    for name, res in ordered.items():
        title = reg[name].title if name in reg else name
        lines += [f"### {name}", "", title, ""]
        if res.get("status") == "failed":
            lines += [f"**Failed**: `{res.get('error', '')}` (traceback in `{name}.error.txt`).", ""]
            continue
        lines.append(f"Recipe {res.get('recipe', '?')}, {res.get('seconds', '?')} s. Numbers: `{name}.json`.")
        if res.get("summary"):
            lines += ["", str(res["summary"])]
        png = res.get("png")
        if png and (out / png).exists():
            lines += ["", f"![{name}]({png})"]
        lines.append("")
    path = out / "REPORT.md"
    write_text(path, "\n".join(lines))
    return path
