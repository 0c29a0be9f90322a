import json
from dataclasses import replace

import numpy as np
import pytest

import models
from interp.experiments.alpha_sweep import sweep_alpha


@pytest.fixture(scope="module")
def sweep():
    return sweep_alpha(models.tasks.Square(), models.MLPConfig(d_in=1, widths=(16,), d_out=1),
                       alphas=(0.01, 1000.0), seeds=(0, 1),
                       train=models.TrainConfig(steps=300, batch_size=128, eval_size=256, eval_points=4,
                                                lr_decay_every=100, progress=False))


def test_sweep_layout_and_alpha_order(sweep):
    assert sweep.live.shape == sweep.loss.shape == (2, 2)
    # α-major members: the sparsity pressure wins at α = 0.01, the task at α = 1000
    assert sweep.live[0].max() < sweep.live[1].min()
    assert sweep.loss[0].min() > sweep.loss[1].max()
    assert sweep.model.n_members == 4 and sweep.model.seeds == (0, 1, 0, 1)
    assert "alpha" in sweep.table() and len(sweep.table().splitlines()) == 3


def test_sweep_save_and_fit_guard(sweep, tmp_path):
    sweep.save(tmp_path)
    d = json.loads((tmp_path / "sweep.json").read_text())
    np.testing.assert_array_equal(d["live"], sweep.live)
    assert models.load(tmp_path / "ensemble").model.n_members == 4
    planted = replace(sweep, live=np.array([[10, 20], [40, 80]]), loss=0.5 / np.array([[10, 20], [40, 80.0]]))
    fit = planted.fit(n_boot=50)
    assert fit.exponent == pytest.approx(-1.0, abs=1e-6) and fit.covers(-1.0)
    few = replace(sweep, live=np.array([[0, 0], [0, 5]]))
    with pytest.raises(ValueError, match="at least 3 members"):
        few.fit()
