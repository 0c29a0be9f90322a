"""The figure runner and its report, with tiny fake figure scripts (no real figure runs here)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from interp.figures import reproduce as rp

GOOD = '''
import json
from pathlib import Path

QUICK, FULL = {"size": 1}, {"size": 2}

def run(out_dir, recipe=QUICK, device="cpu"):
    out = Path(out_dir)
    counter = out / "calls.txt"
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    (out / "good.png").write_bytes(b"\\x89PNG fake")
    claims = [{"claim": "slope of a | b", "paper": "≈ -1", "ours": -0.98, "interval": [-1.05, -0.91],
               "agree": True, "note": "size=%s" % recipe["size"]},
              {"claim": "ratio", "paper": 2.35, "ours": 1.5, "interval": None, "agree": False, "note": ""},
              {"claim": "untested", "paper": "n", "ours": None, "interval": None, "agree": None, "note": ""}]
    res = {"figure": "good", "png": "good.png", "claims": claims, "numbers": {"x": [1, 2]}}
    (out / "good.json").write_text(json.dumps(res))
    return res
'''

BAD = '''
QUICK = FULL = {}

def run(out_dir, recipe=QUICK, device="cpu"):
    raise RuntimeError("boom in the figure")
'''

DEVICE = '''
QUICK = FULL = {}

def run(out_dir, recipe=QUICK, device="cpu"):
    return {"claims": [{"claim": "device", "paper": "-", "ours": None, "interval": None, "agree": None,
                        "note": device}]}
'''

# two figures that declare overlapping sweeps: the shared runs train once, before either draws
TRAINS = '''
import models
from interp.experiments.runs import Sweep, load_run, table

QUICK = FULL = {}
TRAIN = models.TrainConfig(steps=30, batch_size=32, eval_size=64, eval_points=3, progress=False)

def sweeps(recipe):
    return [Sweep.grid(models.MLPConfig(d_in=1, widths=(4,), d_out=1), models.tasks.Square(), TRAIN,
                       over={"model.seed": SEEDS})]

def run(out_dir, recipe=QUICK, device="cpu"):
    (sweep,) = sweeps(recipe)
    t = table(sweep, out_dir + "/_runs" if isinstance(out_dir, str) else out_dir / "_runs")
    assert list(t.status) == ["done"] * len(SEEDS), "trained before drawing"
    return {"claims": [{"claim": "runs", "paper": "-", "ours": len(t), "interval": None, "agree": None, "note": ""}]}
'''


@pytest.fixture()
def registry(tmp_path, monkeypatch):
    package = tmp_path / "scripts" / f"fakefigs_{tmp_path.name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text(GOOD)
    (package / "bad.py").write_text(BAD)
    (package / "dev.py").write_text(DEVICE)
    (package / "train_a.py").write_text("SEEDS = [0, 1]\n" + TRAINS)
    (package / "train_b.py").write_text("SEEDS = [1, 2]\n" + TRAINS)
    monkeypatch.syspath_prepend(str(tmp_path / "scripts"))
    return {name: rp.Figure(name, f"{package.name}.{name}", f"title of {name}")
            for name in ("good", "bad", "dev", "train_a", "train_b")}


def test_runs_figures_and_writes_report(tmp_path, registry):
    out = tmp_path / "out"
    res = rp.reproduce(["good"], out=out, registry=registry, log=None)
    assert res["good"]["status"] == "ran"
    data = json.loads((out / "good.json").read_text())
    assert data["recipe"] == "quick" and "seconds" in data and data["numbers"] == {"x": [1, 2]}
    report = (out / "REPORT.md").read_text()
    assert "![good](good.png)" in report
    assert "| good | slope of a \\| b | ≈ -1 | -0.98 | [-1.05, -0.91] | — | yes | size=1 |" in report
    assert "| good | ratio | 2.35 | 1.5 | — | — | **no** |" in report
    assert "| good | untested | n | — | — | — | n/a |" in report
    assert "Claims: 3, 1 agree, 1 disagree, 1 without a test" in report


def test_skips_done_figures_unless_redo(tmp_path, registry):
    out = tmp_path / "out"
    rp.reproduce(["good"], out=out, registry=registry, log=None)
    res = rp.reproduce(["good"], out=out, registry=registry, log=None)
    assert res["good"]["status"] == "skipped"
    assert (out / "calls.txt").read_text() == "1"
    assert "slope of a" in (out / "REPORT.md").read_text()        # skipped figures stay in the report
    res = rp.reproduce(["good"], out=out, registry=registry, redo=True, quick=False, log=None)
    assert res["good"]["status"] == "ran" and (out / "calls.txt").read_text() == "2"
    assert json.loads((out / "good.json").read_text())["recipe"] == "full"


def test_a_figure_done_with_the_other_recipe_runs_again(tmp_path, registry):
    out = tmp_path / "out"
    rp.reproduce(["good"], out=out, registry=registry, log=None)                  # quick
    lines = []
    res = rp.reproduce(["good"], out=out, registry=registry, quick=False, log=lines.append)
    assert "meant for a GPU" in lines[0]                                        # full on the CPU is flagged
    assert res["good"]["status"] == "ran" and (out / "calls.txt").read_text() == "2"
    assert json.loads((out / "good.json").read_text())["recipe"] == "full"
    res = rp.reproduce(["good"], out=out, registry=registry, quick=False, log=None)
    assert res["good"]["status"] == "skipped" and (out / "calls.txt").read_text() == "2"


def test_failure_is_recorded_and_the_run_goes_on(tmp_path, registry):
    out = tmp_path / "out"
    lines = []
    res = rp.reproduce(["bad", "good"], out=out, registry=registry, log=lines.append)
    assert res["bad"]["status"] == "failed" and "boom in the figure" in res["bad"]["error"]
    assert res["good"]["status"] == "ran"
    assert "RuntimeError" in (out / "bad.error.txt").read_text()
    assert not (out / "bad.json").exists()                          # a failed figure is retried next time
    report = (out / "REPORT.md").read_text()
    assert "**Failed**" in report and "(figure failed)" in report
    assert any("FAILED" in line for line in lines) and any("[2/2]" in line for line in lines)


def test_device_is_passed_to_the_figure(tmp_path, registry):
    res = rp.reproduce(["dev"], out=tmp_path / "o", registry=registry, device="meta", log=None)
    assert res["dev"]["claims"][0]["note"] == "meta"


def test_declared_sweeps_train_first_and_shared_runs_once(tmp_path, registry):
    out = tmp_path / "o"
    lines = []
    res = rp.reproduce(["train_a", "train_b"], out=out, registry=registry, log=lines.append)
    assert res["train_a"]["status"] == res["train_b"]["status"] == "ran"
    assert any("3 distinct runs in 1 groups" in line for line in lines)   # seed 1 is asked for twice
    assert len(list((out / "_runs").glob("*/result.json"))) == 3


def test_unknown_figure_and_broken_module(tmp_path, registry):
    with pytest.raises(ValueError, match=r"figures=\['nope'\] is not allowed: expected names from good"):
        rp.reproduce(["nope"], out=tmp_path, registry=registry, log=None)
    broken = {"x": rp.Figure("x", "no_such_module_anywhere", "t")}
    res = rp.reproduce(["x"], out=tmp_path, registry=broken, log=None)
    assert res["x"]["status"] == "failed" and "ModuleNotFoundError" in res["x"]["error"]


def test_every_registered_figure_is_an_installed_module_with_recipes():
    import dataclasses
    import inspect

    for fig in rp.FIGURES.values():
        module = fig.load()
        assert module.__name__.startswith("interp.figures."), fig
        assert list(inspect.signature(module.run).parameters)[:3] == ["out_dir", "recipe", "device"], fig.name
        assert module.NAME == fig.name
        for recipe in (module.QUICK, module.FULL):
            assert dataclasses.is_dataclass(recipe) and recipe.__dataclass_params__.frozen, fig.name
        assert isinstance(module.sweeps(module.QUICK), list)
    assert {"fig2_square", "fig3_parallel", "fig4_series", "emergence_fig4_transformer"} <= set(rp.FIGURES)


@pytest.mark.slow
def test_the_installed_packages_alone_reproduce_a_figure(tmp_path):
    """Only what the package ships (interp, models, probes; no examples/ or tests/ beside
    it) imports every figure and runs `interp reproduce`."""
    import os
    import shutil
    import subprocess
    import sys

    import interp

    root = Path(interp.__file__).resolve().parents[1]  # the folder that holds the three packages
    site = tmp_path / "site"
    for package in ("interp", "models", "probes"):
        shutil.copytree(root / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; from interp import figures; from interp.cli import main; "
            "[figures.load(n) for n in figures.FIGURES]; "
            "sys.exit(main(['reproduce', 'appC_allocation', '--out', 'out']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "appC_allocation.png").exists() and (tmp_path / "out" / "REPORT.md").exists()


def test_every_example_runs_its_figure_module():
    root = Path(__file__).resolve().parents[1]
    for name in rp.FIGURES:
        text = (root / "examples" / f"{name}.py").read_text()
        assert f"from interp.figures import {name} as figure" in text, name


def test_cli_list_and_table_formatting(capsys):
    from interp.cli import main

    assert main(["reproduce", "--list"]) == 0
    assert "fig2_square" in capsys.readouterr().out
    table = rp.claims_table({"f": {"claims": [{"claim": "c", "paper": 1, "ours": float("nan"), "interval": [0.001234, 5e5],
                                               "agree": None}]},
                              "g": {"numbers": {"recipe": {"seeds": [0, 1, 2]}}, "claims": [{"claim": "d", "agree": True}]}})
    assert table.splitlines()[-2] == "| f | c | 1 | — | [0.00123, 5e+05] | — | n/a |  |"
    assert table.splitlines()[-1] == "| g | d | — | — | — | 3 | yes |  |"


def test_cli_output_into_a_closed_pipe_ends_quietly():
    """`interp reproduce --list | head -1`: a reader gone before the listing ends gives the
    shell's 141, not a BrokenPipeError traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import sys; from interp.cli import main; sys.exit(main())",
                             "reproduce", "--list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                                  # the reader leaves before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err[-2000:]


def test_claim_helpers_only_agree_when_the_interval_decides():
    from interp.figures import claims as fk

    assert fk.decides([-1.3, -0.8], -1.0, 0.0) is True           # covers the claim, excludes no-effect
    assert fk.decides([-10.5, 0.3], -1.0, 0.0) is None           # covers both: too wide to tell
    assert fk.decides([-0.7, -0.2], -1.0, 0.0) is False          # excludes the claim
    assert fk.decides(None, -1.0, 0.0) is None

    class Fit:
        exponent, exponent_interval = -3.5, (-10.5, 0.29)

    assert fk.fit_claim("c", Fit, -1.0)["agree"] is True
    row = fk.fit_claim("c", Fit, -1.0, null=0.0)
    assert row["agree"] is None and "no test" in row["note"]
    assert row["ours"] == -3.5 and row["interval"] == [-10.5, 0.29]


@pytest.mark.parametrize("lim, labels", [
    ((5, 45), {"10", "20", "30"}),              # under a decade: matplotlib alone writes 2×10^1, 3×10^1, ...
    ((2, 60), {"10", "20", "50"}),              # one to two decades: matplotlib alone writes the single 10^1
    ((6, 9), {"6", "7", "8", "9"}),             # a sliver: every tick
])
def test_log_axes_under_two_decades_get_plain_labels(lim, labels):
    from interp.figures import drawing as fk

    fig, (ax,) = fk.figure(1)
    ax.plot(lim, lim)
    ax.set_xscale("log"), ax.set_xlim(*lim)
    fk.tidy(fig)
    fig.canvas.draw()
    shown = {t.get_text() for minor in (False, True) for t in ax.get_xticklabels(minor=minor) if t.get_text()}
    assert labels <= shown
    assert not any("10^" in t or "times" in t for t in shown), shown


def test_an_alpha_sweep_trains_once_per_folder_and_recipe(tmp_path, monkeypatch):
    import sys

    import numpy as np
    import torch

    import models
    from interp.figures import recipes as fk

    task, net = models.tasks.Square(), models.MLPConfig(d_in=1, widths=(8,), d_out=1)
    recipe = fk.SweepRecipe(alphas=(4.0, 1.0), seeds=(0, 1), steps=40, decay_every=20)
    first = fk.alpha_sweep(tmp_path, task, net, recipe)
    assert len(list(fk.runs_dir(tmp_path).glob("*/result.json"))) == 4 and first.alphas.tolist() == [1.0, 4.0]

    train_module, steps_run = sys.modules["models.steps"], []
    real_objective = train_module.objective
    monkeypatch.setattr(train_module, "objective", lambda *a, **k: steps_run.append(1) or real_objective(*a, **k))
    again = fk.alpha_sweep(tmp_path, task, net, recipe)
    assert not steps_run                                              # read back, not trained
    for (name, p), q in zip(first.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(p, q), name
    assert np.array_equal(again.loss, first.loss) and np.array_equal(again.live, first.live)
    longer = fk.alpha_sweep(tmp_path, task, net, dataclasses.replace(recipe, steps=50))
    assert len(steps_run) == 50 and longer.steps == 50                # another recipe: other runs
    assert len(list(fk.runs_dir(tmp_path).glob("*/result.json"))) == 8
