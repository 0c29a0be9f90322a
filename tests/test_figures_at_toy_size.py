"""Every registered figure runs end to end: those that train nothing as `interp reproduce
--quick` runs them, and those that train at toy size: a few steps of tiny nets, so skills do
not emerge, fits lack points and sweeps saturate. The scripts must still write their PNG and
JSON and fill each claim row (an untestable claim says so with ``agree: None``), as a long
`interp reproduce` run meets the same gaps on a GPU-less machine."""
from __future__ import annotations

import json

import pytest

from figure_runs import run_at_toy_size
from interp.figures import reproduce as rp

# recipe overrides per figure (toy sizes); Figs. 2 and 6 share the x² sweep, Figs. 4, 7, 8 the series one
SQUARE = dict(width=8, alphas=(1.0, 3.5, 9.0, 19.3, 128.0), seeds=(0, 1), steps=40, decay_every=20)
SERIES = dict(widths=(6, 6, 6, 6), alphas=(20.0, 80.0, 320.0, 640.0, 2560.0), seeds=(0, 1), steps=40, decay_every=20)
TINY = {
    "fig2_square": SQUARE, "fig6_ensembling": SQUARE,
    "fig4_series": SERIES, "fig7_redundancy": SERIES, "fig8_layers": SERIES,
    "fig3_parallel": dict(width=8, alphas=(16.0, 64.0, 256.0), betas=(0.5, 0.75, 0.9), seeds=(0, 1), steps=40,
                          decay_every=20),
    "fig5_functions": dict(functions=("x^2", "sin^2"), nets=((8,), (4, 4)), alphas=(4.0, 64.0, 1024.0), seeds=(0,),
                           steps=40, decay_every=20),
    "emergence_fig1_time": dict(steps=60, repeats=2, width=16, eval_points=10, batch=256),
    "emergence_fig1_data": dict(sizes=(100, 300, 1000), width=16, seeds=(0, 1), epochs=40, decay_epochs=20, batch=100),
    "emergence_fig1_params": dict(widths=[2, 4, 8], seeds=[0, 1], steps=40, batch=256),
    "emergence_fig4_transformer": dict(d_model=16, steps=40, batch=64, eval_points=8),
    "skill_resources": dict(widths=(8, 16, 32), seeds=(0, 1), steps=40, batch=256),
    "lm_family": dict(d_model=(16,) * 3, d_mlp=(8, 16, 32), n_layers=1, seeds=(0, 1), steps=40, batch=32, n_eval=8,
                      n_parity=2, n_bits=6),
}
TRAINING = ["fig2_square", "fig3_parallel", "fig4_series", "fig5_functions", "fig6_ensembling", "fig7_redundancy",
            "fig8_layers", "emergence_fig1_time", "emergence_fig1_data", "emergence_fig1_params",
            "emergence_fig4_transformer", "skill_resources", "lm_family"]
COMPUTED = ["appC_allocation", "chinchilla", "emergence_fig2_laws", "emergence_fig3_compute"]
LANGUAGE_MODEL = ["lm_resources"]  # run at toy size in test_smollm2.py, beside the other SmolLM2 tests


def test_every_registered_figure_is_tested_here():
    assert sorted(rp.FIGURES) == sorted(TRAINING + COMPUTED + LANGUAGE_MODEL)


@pytest.mark.parametrize("name", COMPUTED)
def test_computed_figures_run_whole_and_fill_their_claims(tmp_path, name):
    """The figures that train nothing run as `interp reproduce --quick` runs them."""
    res = rp.reproduce([name], out=tmp_path, log=None)[name]
    assert res["status"] == "ran", res.get("error")
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    assert res["claims"] and any(c["ours"] is not None for c in res["claims"])
    assert json.loads((tmp_path / f"{name}.json").read_text())["figure"] == name


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINING)
def test_training_figure_runs_whole_at_toy_size(tmp_path, name):
    run_at_toy_size(tmp_path, name, TINY[name])

