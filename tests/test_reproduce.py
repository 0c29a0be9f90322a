"""The figure runner and its report, with tiny fake figure scripts (no real figure runs here)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from interp import reproduce as rp

GOOD = '''
import json
from pathlib import Path

def run(out_dir, quick=True):
    out = Path(out_dir)
    counter = out / "calls.txt"
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    (out / "good.png").write_bytes(b"\\x89PNG fake")
    claims = [{"claim": "slope of a | b", "paper": "≈ -1", "ours": -0.98, "interval": [-1.05, -0.91],
               "agree": True, "note": "quick=%s" % quick},
              {"claim": "ratio", "paper": 2.35, "ours": 1.5, "interval": None, "agree": False, "note": ""},
              {"claim": "untested", "paper": "n", "ours": None, "interval": None, "agree": None, "note": ""}]
    res = {"figure": "good", "png": "good.png", "claims": claims, "numbers": {"x": [1, 2]}}
    (out / "good.json").write_text(json.dumps(res))
    return res
'''

BAD = '''
def run(out_dir, quick=True):
    raise RuntimeError("boom in the figure")
'''

DEVICE = '''
def run(out_dir, quick=True, device="cpu"):
    return {"claims": [{"claim": "device", "paper": "-", "ours": None, "interval": None, "agree": None,
                        "note": device}]}
'''


@pytest.fixture()
def registry(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "good.py").write_text(GOOD)
    (scripts / "bad.py").write_text(BAD)
    (scripts / "dev.py").write_text(DEVICE)
    return {name: rp.Figure(name, str(scripts / f"{name}.py"), f"title of {name}") for name in ("good", "bad", "dev")}


def test_runs_figures_and_writes_report(tmp_path, registry):
    out = tmp_path / "out"
    res = rp.reproduce(["good"], out=out, registry=registry, log=None)
    assert res["good"]["status"] == "ran"
    data = json.loads((out / "good.json").read_text())
    assert data["recipe"] == "quick" and "seconds" in data and data["numbers"] == {"x": [1, 2]}
    report = (out / "REPORT.md").read_text()
    assert "![good](good.png)" in report
    assert "| good | slope of a \\| b | ≈ -1 | -0.98 | [-1.05, -0.91] | yes | quick=True |" in report
    assert "| good | ratio | 2.35 | 1.5 | — | **no** |" in report
    assert "| good | untested | n | — | — | n/a |" in report
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


def test_device_is_passed_when_the_script_takes_it(tmp_path, registry):
    res = rp.reproduce(["dev"], out=tmp_path / "o", registry=registry, device="meta", log=None)
    assert res["dev"]["claims"][0]["note"] == "meta"


def test_unknown_figure_and_missing_examples_folder(tmp_path, registry):
    with pytest.raises(ValueError, match="unknown"):
        rp.reproduce(["nope"], out=tmp_path, registry=registry, log=None)
    with pytest.raises(FileNotFoundError, match="examples folder"):
        rp.load_example(rp.Figure("x", "no_such_examples/x.py", "t"), root=tmp_path)


def test_module_without_run_is_an_error(tmp_path):
    p = tmp_path / "norun.py"
    p.write_text("X = 1\n")
    with pytest.raises(AttributeError, match="run"):
        rp.load_example(rp.Figure("norun", str(p), "t"))


def test_every_registered_figure_has_its_script():
    root = Path(rp.__file__).resolve().parents[1]
    missing = [f.script for f in rp.FIGURES.values() if not (root / f.script).exists()]
    assert not missing
    assert {"fig2_square", "fig3_parallel", "fig4_series", "emergence_fig4_transformer"} <= set(rp.FIGURES)


def test_cli_list_and_table_formatting(capsys):
    assert rp.main_cli(["--list"]) == 0
    assert "fig2_square" in capsys.readouterr().out
    table = rp.claims_table({"f": {"claims": [{"claim": "c", "paper": 1, "ours": float("nan"), "interval": [0.001234, 5e5],
                                               "agree": None}]}})
    assert table.splitlines()[-1] == "| f | c | 1 | — | [0.00123, 5e+05] | n/a |  |"


def _figkit():
    import importlib.util

    root = Path(rp.__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("_figkit", root / "examples" / "_figkit.py")
    fk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fk)
    return fk


def test_claim_helpers_only_agree_when_the_interval_decides():
    fk = _figkit()
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
    fk = _figkit()
    fig, (ax,) = fk.figure(1)
    ax.plot(lim, lim)
    ax.set_xscale("log"), ax.set_xlim(*lim)
    fk.tidy(fig)
    fig.canvas.draw()
    shown = {t.get_text() for minor in (False, True) for t in ax.get_xticklabels(minor=minor) if t.get_text()}
    assert labels <= shown
    assert not any("10^" in t or "times" in t for t in shown), shown


def test_cached_sweep_trains_once_per_folder_and_recipe(tmp_path, monkeypatch):
    import sys

    import numpy as np
    import torch

    import models

    fk = _figkit()
    task, net = models.tasks.Square(), models.MLPConfig(d_in=1, widths=(8,), d_out=1)
    recipe = dict(alphas=[4.0, 1.0], seeds=[0, 1], steps=40, decay_every=20)
    first = fk.cached_sweep(tmp_path, "sq", True, task, net, recipe)
    assert (tmp_path / "_cache" / "sq_quick").is_dir() and first.alphas.tolist() == [1.0, 4.0]

    train_module, steps_run = sys.modules["models.train"], []
    real_objective = train_module.objective
    monkeypatch.setattr(train_module, "objective", lambda *a, **k: steps_run.append(1) or real_objective(*a, **k))
    again = fk.cached_sweep(tmp_path, "sq", True, task, net, recipe)
    assert not steps_run                                              # read back, not trained
    for (name, p), q in zip(first.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(p, q), name
    assert np.array_equal(again.loss, first.loss) and np.array_equal(again.live, first.live)
    fk.cached_sweep(tmp_path, "sq", False, task, net, recipe)        # the other recipe has its own folder
    assert len(steps_run) == 40
    longer = fk.cached_sweep(tmp_path, "sq", True, task, net, dict(recipe, steps=50))
    assert len(steps_run) == 50 and longer.steps == 50                # more steps go on from the cached run
    with pytest.raises(ValueError, match="checkpoint"):              # another schedule cannot reuse it
        fk.cached_sweep(tmp_path, "sq", True, task, net, dict(recipe, steps=50, decay_every=10))


def test_every_registered_figure_script_imports_with_a_run_function():
    import inspect

    for name in rp.FIGURES:
        params = inspect.signature(rp.load_example(name).run).parameters
        assert list(params)[:2] == ["out_dir", "quick"], name

