"""Reproduce the papers' figures: run the scripts in ``examples/`` and write a report.

Each figure is one script in the repository's ``examples/`` folder exposing
``run(out_dir, quick=True) -> dict``. The script writes ``<name>.png`` and ``<name>.json``
into ``out_dir`` and returns a dict with at least ``claims``: a list of rows
``{"claim", "paper", "ours", "interval", "agree", "note"}`` filled from what it computed.
:func:`reproduce` runs the asked figures (skipping those whose JSON is already there unless
``redo``), keeps going when one fails (the traceback is kept beside the figures), and
writes ``REPORT.md``: each figure embedded and one table of claims.

>>> sorted(FIGURES)[:3]
['appC_allocation', 'chinchilla', 'emergence_fig1_data']
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping, Sequence


@dataclass(frozen=True)
class Figure:
    """A registered figure: ``script`` is a path relative to the repository root (or absolute)."""

    name: str
    script: str
    title: str


def _fig(name: str, title: str) -> Figure:
    return Figure(name, f"examples/{name}.py", title)


FIGURES: dict[str, Figure] = {f.name: f for f in [
    _fig("fig2_square", "Resource model Fig. 2: x², live neurons vs α, (w, b) scatter, loss vs N"),
    _fig("fig3_parallel", "Resource model Fig. 3: two x² in parallel, N1/N2 and MSE ratios vs α and β"),
    _fig("fig4_series", "Resource model Fig. 4: series task, g in layer 3, loss vs N"),
    _fig("fig5_functions", "Resource model Fig. 5: many 1-D functions, loss vs N"),
    _fig("fig6_ensembling", "Resource model Fig. 6: error correlations of symmetric regressors"),
    _fig("fig7_redundancy", "Resource model Fig. 7: neuron redundancy vs α (series task)"),
    _fig("fig8_layers", "Resource model Fig. 8: live neurons per layer vs α (series task)"),
    _fig("appC_allocation", "Resource model App. C: optimal allocation n1/n2 = sqrt(a/b)"),
    _fig("chinchilla", "Resource model §4: from N⁻¹ to N_p^(-1/3) vs Chinchilla's 0.34"),
    _fig("emergence_fig1_time", "Emergence Fig. 1 (time): calibrate on skill 1, predict skills 2..5"),
    _fig("emergence_fig1_data", "Emergence Fig. 1 (data): R_k vs data-set size D"),
    _fig("emergence_fig1_params", "Emergence Fig. 1 (parameters): R_k vs width N"),
    _fig("emergence_fig2_laws", "Emergence Fig. 2: multilinear model scaling laws vs theory"),
    _fig("emergence_fig3_compute", "Emergence Fig. 3: loss vs compute, envelope C^(-α/(α+2))"),
    _fig("emergence_fig4_transformer", "Emergence Fig. 4: transformer emergence times τ_k ∝ k^(α+1)"),
    _fig("skill_resources", "Beyond the papers: neurons per skill in sparse-parity MLPs"),
    _fig("lm_resources", "Beyond the papers: the resource model on SmolLM2-135M (30 × 1536 MLP neurons)"),
]}

REPO_ROOT = Path(__file__).resolve().parents[1]


def _script_path(fig: Figure, root: Path | None = None) -> Path:
    p = Path(fig.script)
    if p.is_absolute():
        return p
    for base in ([root] if root is not None else []) + [REPO_ROOT, Path.cwd()]:
        if (base / p).exists():
            return base / p
    folder = (root or REPO_ROOT) / p.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the examples folder {folder} is absent: `interp reproduce` runs the scripts in the repository's "
            f"examples/ (a pip-installed package does not ship them); run it from a clone of the repository")
    raise FileNotFoundError(f"figure {fig.name!r}: script {folder / p.name} not found")


def load_example(fig: Figure | str, registry: Mapping[str, Figure] | None = None, root: Path | None = None) -> ModuleType:
    """Import a figure's script by path (``examples/`` is not an installed package)."""
    reg = FIGURES if registry is None else registry
    if isinstance(fig, str):
        if fig not in reg:
            raise KeyError(f"unknown figure {fig!r}; known: {', '.join(reg)}")
        fig = reg[fig]
    path = _script_path(fig, root)
    spec = importlib.util.spec_from_file_location(f"_interp_example_{fig.name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        try:
            sys.path.remove(str(path.parent))
        except ValueError:
            pass
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"{path} has no run(out_dir, quick=True) function")
    return module


def _json_path(out: Path, name: str) -> Path:
    return out / f"{name}.json"


def _error_path(out: Path, name: str) -> Path:
    return out / f"{name}.error.txt"


def jsonable(v):
    """``v`` made JSON-ready: dict keys as strings, tuples as lists, arrays and tensors via
    ``tolist()``, result objects via ``to_dict()``, non-finite floats as None.

    >>> import numpy as np
    >>> jsonable({1: (np.array([0.5, np.inf]),)})
    {'1': [[0.5, None]]}
    """
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if hasattr(v, "to_dict") and not isinstance(v, type):
        return jsonable(v.to_dict())
    if hasattr(v, "tolist"):
        return jsonable(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def reproduce(figures: Sequence[str] | None = None, quick: bool = True, out: str | Path = "runs/reproduce",
              redo: bool = False, *, device: str = "cpu", registry: Mapping[str, Figure] | None = None,
              root: Path | None = None, log: Callable[[str], None] | None = print) -> dict[str, dict]:
    """Run ``figures`` (default: all registered) into ``out`` and write ``out/REPORT.md``.

    A figure whose ``<name>.json`` exists from the same recipe (quick or full) is skipped
    (its numbers are read back) unless ``redo``. A figure that raises is recorded
    (``status: failed``, traceback in ``<name>.error.txt``) and the run goes on. Returns name -> result dict (with
    ``status`` 'ran', 'skipped' or 'failed' and ``seconds``)."""
    reg = dict(FIGURES if registry is None else registry)
    names = list(reg) if not figures else list(figures)
    unknown = [n for n in names if n not in reg]
    if unknown:
        raise ValueError(f"figures: unknown {unknown}; known: {', '.join(reg)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = log or (lambda s: None)
    results: dict[str, dict] = {}
    recipe = "quick" if quick else "full"
    if not quick and str(device) == "cpu":
        say("note: --full runs the papers' settings (up to 300 000 steps, widths up to 1000, 16 seeds), "
            "meant for a GPU (--device cuda); on the CPU it takes many hours")
    t_all = time.time()
    for i, name in enumerate(names, 1):
        jpath = _json_path(out, name)
        if jpath.exists() and not redo:
            try:
                res = json.loads(jpath.read_text())
            except (OSError, json.JSONDecodeError):
                res = {}
            # done with the other recipe, or unreadable: it runs again
            if res.get("recipe") == recipe:
                res["status"] = "skipped"
                results[name] = res
                say(f"[{i}/{len(names)}] {name}: done before, skipped (--redo to run again)")
                continue
        say(f"[{i}/{len(names)}] {name}: running ({recipe}) ...")
        t0 = time.time()
        try:
            module = load_example(reg[name], reg, root)
            kwargs = {"quick": quick}
            if "device" in inspect.signature(module.run).parameters:
                kwargs["device"] = device
            res = dict(module.run(out, **kwargs) or {})
            res["seconds"] = round(time.time() - t0, 1)
            res["recipe"] = recipe
            res.setdefault("figure", name)
            res.setdefault("png", f"{name}.png")
            res.setdefault("claims", [])
            res = jsonable(res)
            if jpath.exists():      # keep what the script wrote, add the runner's fields
                try:
                    written = json.loads(jpath.read_text())
                    written.update({k: res[k] for k in ("seconds", "recipe", "claims", "figure", "png")})
                    res = {**res, **written}
                except (OSError, json.JSONDecodeError):
                    pass
            jpath.write_text(json.dumps(res, indent=1))
            _error_path(out, name).unlink(missing_ok=True)
            res["status"] = "ran"
            say(f"[{i}/{len(names)}] {name}: done in {res['seconds']:.0f} s")
        except Exception as exc:  # noqa: BLE001 - one failing figure must not stop the others
            tb = traceback.format_exc()
            _error_path(out, name).write_text(tb)
            res = {"figure": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "seconds": round(time.time() - t0, 1), "claims": []}
            say(f"[{i}/{len(names)}] {name}: FAILED after {res['seconds']:.0f} s: {res['error']}")
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


def claims_table(results: Mapping[str, dict]) -> str:
    """The markdown table of claims: figure, claim, paper, ours, our interval, agree?, note."""
    rows = ["| figure | claim | paper | ours | our interval | agree? | note |", "|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        if res.get("status") == "failed":
            rows.append(f"| {name} | (figure failed) | — | — | — | n/a | {_fmt(res.get('error', ''))} |")
            continue
        for c in res.get("claims", []):
            rows.append(f"| {name} | {_fmt(c.get('claim'))} | {_fmt(c.get('paper'))} | {_fmt(c.get('ours'))} | "
                        f"{_fmt(c.get('interval'))} | {_agree(c.get('agree'))} | {_fmt(c.get('note', ''))} |")
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
    path.write_text("\n".join(lines))
    return path


def main_cli(argv: Sequence[str] | None = None) -> int:
    """``interp reproduce [FIGURE ...] [--quick | --full] [--out DIR] [--redo] [--device D] [--list]``."""
    ap = argparse.ArgumentParser(prog="interp reproduce", description="Redraw the papers' figures and write REPORT.md.")
    add_arguments(ap)
    return run_from_args(ap.parse_args(argv))


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("figures", nargs="*", help=f"figures to run (default: all): {', '.join(FIGURES)}")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="quick", action="store_true", default=True, help="CPU recipes (default)")
    g.add_argument("--full", dest="quick", action="store_false", help="the papers' settings (meant for a GPU)")
    ap.add_argument("--out", default="runs/reproduce", help="output folder (default runs/reproduce)")
    ap.add_argument("--redo", action="store_true", help="run figures again even if their JSON exists")
    ap.add_argument("--device", default="cpu", help="torch device for the figures that train (default cpu)")
    ap.add_argument("--list", action="store_true", help="list the figures and exit")


def run_from_args(args: argparse.Namespace) -> int:
    if args.list:
        for f in FIGURES.values():
            print(f"{f.name:28s} {f.title}")
        return 0
    results = reproduce(args.figures or None, quick=args.quick, out=args.out, redo=args.redo, device=args.device)
    return 1 if any(r.get("status") == "failed" for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main_cli())
