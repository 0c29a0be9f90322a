import json

import numpy as np
import pytest
import torch

import models
from models.checkpoint import saved_progress
from models.tasks import Parallel, SparseParity, Square
from settings import tiny_train

SMALL = dict(batch_size=32, eval_size=64, eval_points=6)  # the tiny run's batches, halved


@pytest.mark.parametrize("make", [
    lambda: models.MLP(models.MLPConfig(d_in=2, widths=(5, 3), d_out=2, seed=4)),
    lambda: models.Ensemble(models.MLPConfig(d_in=2, widths=(5,), d_out=2), seeds=(1, 2, 3)),
    lambda: models.ParityTransformer(models.ParityTransformerConfig(n_ctx=2, d_model=8, n_heads=2)),
])
def test_round_trip_identical_outputs(tmp_path, make):
    net = make()
    with torch.no_grad():  # move away from the initialisation, so loading must read the weights
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    task, cfg = Parallel(0.85), models.TrainConfig(alpha=3.0, steps=10)
    models.save(net, tmp_path / "ck", task=task, train_config=cfg, history={"step": [0, 1]})
    ck = models.load(tmp_path / "ck")
    x = torch.rand(7, 2)
    assert torch.equal(ck.model(x), net(x))
    assert ck.task == task and ck.train_config == cfg and ck.history["step"].tolist() == [0, 1]
    assert ck.meta["version"] == models.__version__
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["model"]["type"] == type(net).__name__


def test_pickle_is_refused(tmp_path):
    net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
    (tmp_path / "ck").mkdir()
    torch.save(net.state_dict(), tmp_path / "ck" / "weights.pt")
    with pytest.raises(ValueError, match="pickle"):
        models.load(tmp_path / "ck")
    with pytest.raises(ValueError, match="pickle"):
        models.load(tmp_path / "ck" / "weights.pt")
    with pytest.raises(ValueError, match="folder"):
        models.load(tmp_path / "missing")


def test_resume_after_interruption_matches_uninterrupted(tmp_path, monkeypatch):
    task = SparseParity(n_skills=3, n_bits=9, bits_per_skill=3)
    make = lambda: models.Ensemble(models.MLPConfig(d_in=task.d_in, widths=(16,), d_out=1), seeds=(0, 1))
    cfg = tiny_train(alpha=(1.0, 2.0), steps=120, checkpoint_every=40, lr_decay_every=50, **SMALL)
    straight = models.train(make(), task, cfg)

    from models.trainer import _Data
    real_batch = _Data.batch

    def flaky(self, step):
        if step == 100:  # dies during step 100
            raise KeyboardInterrupt("power cut")
        return real_batch(self, step)

    monkeypatch.setattr(_Data, "batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        models.train(make(), task, cfg, checkpoint=tmp_path / "run")
    monkeypatch.setattr(_Data, "batch", real_batch)
    assert saved_progress(tmp_path / "run")["step"] == 80  # the last save before the cut
    resumed = models.train(make(), task, cfg, checkpoint=tmp_path / "run")
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for k in straight.history:
        np.testing.assert_array_equal(resumed.history[k], straight.history[k])
    # the finished run loads as a checkpoint, history included
    ck = models.load(tmp_path / "run")
    np.testing.assert_array_equal(ck.history["step"], straight.history["step"])


def test_resume_refuses_a_different_run(tmp_path):
    task = Square()
    net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
    models.train(net, task, tiny_train(steps=5, **SMALL), checkpoint=tmp_path / "run")
    with pytest.raises(ValueError, match="checkpoint"):
        models.train(models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1)), task,
                     tiny_train(steps=5, lr=0.5, **SMALL), checkpoint=tmp_path / "run")
