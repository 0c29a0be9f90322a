import math

import numpy as np
import pytest
import torch

import models
from models.tasks import Parallel, SparseParity, Square
from models.objective import objective, penalties
from models.trainer import _subnormals_flush
from settings import TINY


def test_objective_against_hand_computation():
    net = models.MLP(models.MLPConfig(d_in=2, widths=(3,), d_out=2, seed=1))
    task = Parallel(beta=0.75)
    batch = task.sample(5, torch.Generator().manual_seed(0))
    cfg = models.TrainConfig(alpha=7.0, l1=0.01, l2=0.02)
    obj, task_loss = objective(net, task, batch, cfg)
    # by hand, with plain loops
    W1, b1 = net.layers[0].weight.tolist(), net.layers[0].bias.tolist()
    W2, b2 = net.layers[1].weight.tolist(), net.layers[1].bias.tolist()
    silu = lambda z: z / (1 + math.exp(-z))
    sq = [[0.0, 0.0] for _ in range(5)]
    for n, (x, y) in enumerate(zip(batch.x.tolist(), batch.y.tolist())):
        h = [silu(sum(W1[j][i] * x[i] for i in range(2)) + b1[j]) for j in range(3)]
        for o in range(2):
            out = sum(W2[o][j] * h[j] for j in range(3)) + b2[o]
            sq[n][o] = (out - y[o]) ** 2
    mse = [sum(s[o] for s in sq) / 5 for o in range(2)]
    ell = 0.75 * mse[0] + 0.25 * mse[1]
    weights = [w for row in W1 + W2 for w in row]  # biases are not penalised
    expected = 7.0 * ell + 0.01 * sum(abs(w) for w in weights) + 0.02 * sum(w * w for w in weights)
    assert task_loss.item() == pytest.approx(ell, rel=1e-5)
    assert obj.item() == pytest.approx(expected, rel=1e-5)


def test_ensemble_penalties_per_member():
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1))
    l1, l2 = penalties(ens)
    for i in range(2):
        m = ens.member(i)
        assert l1[i].item() == pytest.approx(sum(l.weight.abs().sum().item() for l in m.layers), rel=1e-6)
        assert l2[i].item() == pytest.approx(sum(l.weight.pow(2).sum().item() for l in m.layers), rel=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_ensemble_member_matches_solo_run(optimizer):
    cfg_net = models.MLPConfig(d_in=2, widths=(16, 8), d_out=2)
    seeds, alphas = (3, 5, 9), (2.0, 8.0, 32.0)
    kw = dict(TINY, optimizer=optimizer, lr=0.01 if optimizer == "adam" else 0.002,
              momentum=0.9 if optimizer == "sgd" else 0.0, lr_decay_every=30)
    ens = models.train(models.Ensemble(cfg_net, seeds), Parallel(0.75), models.TrainConfig(alpha=alphas, **kw))
    for i in (0, 2):
        solo = models.MLP(models.MLPConfig(d_in=2, widths=(16, 8), d_out=2, seed=seeds[i]))
        res = models.train(solo, Parallel(0.75), models.TrainConfig(alpha=alphas[i], **kw))
        member = ens.model.member(i)
        for a, b in zip(member.parameters(), res.model.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ens.history["loss"][:, i], res.history["loss"], rtol=1e-3, atol=1e-7)


def test_training_reduces_loss_and_history_layout():
    task = SparseParity(n_skills=3, n_bits=9, bits_per_skill=3, alpha=0.5, scale=1.0)
    net = models.MLP(models.MLPConfig(d_in=task.d_in, widths=(64,), d_out=1, activation="relu"))
    res = models.train(net, task, models.TrainConfig(l1=0, l2=0, steps=300, batch_size=256, eval_size=300,
                                                     eval_points=10, progress=False))
    h = res.history
    assert h["step"][0] == 0 and h["step"][-1] == 300 and np.all(np.diff(h["step"]) > 0)
    assert h["loss"].shape == (len(h["step"]), 3) and h["skill_strength"].shape == (len(h["step"]), 3)
    assert h["task_loss"][-1] < 0.5 * h["task_loss"][0]
    assert h["skill_strength"][-1, 0] > 0.5  # the most frequent skill is learned first


def test_fixed_dataset_and_data_streams():
    from models.trainer import _Data
    task = Square()
    cfg = models.TrainConfig(dataset_size=32, batch_size=16, seed=4)
    data = _Data(task, cfg, model_seeds=[0, 1])
    pool = [set(d.x.flatten().tolist()) for d in data.datasets]
    assert pool[0] != pool[1]  # each member has its own data set
    for _ in range(20):
        b = data.next()
        assert b.x.shape == (2, 16, 1)
        for i in range(2):
            assert set(b.x[i].flatten().tolist()) <= pool[i]
    # a lone model with seed s draws exactly what ensemble member with seed s draws
    solo = _Data(task, cfg, model_seeds=[1])
    torch.testing.assert_close(solo.datasets[0].x, data.datasets[1].x)
    shared = _Data(task, models.TrainConfig(shared_data=True, batch_size=16), model_seeds=[0, 1])
    assert shared.next().x.shape == (16, 1)  # one batch, broadcast to every member
    full = _Data(task, models.TrainConfig(dataset_size=8, batch_size=16), model_seeds=[0])
    torch.testing.assert_close(full.next().x, full.datasets[0].x)


def test_nan_member_marked_failed_others_kept():
    cfg_net = models.MLPConfig(d_in=1, widths=(8,), d_out=1)
    ens = models.Ensemble(cfg_net, seeds=(0, 1, 2))
    with torch.no_grad():
        ens.weight[0][1, 0, 0] = float("nan")
    res = models.train(ens, Square(), models.TrainConfig(alpha=4.0, **TINY))
    assert list(res.failed) == [1] and "step 0" in res.failed[1]
    solo = models.train(models.MLP(cfg_net), Square(), models.TrainConfig(alpha=4.0, **TINY))
    for a, b in zip(res.model.member(0).parameters(), solo.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert np.isfinite(res.history["task_loss"][-1, [0, 2]]).all()


def test_single_model_divergence_raises_with_history():
    net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    with torch.no_grad():
        net.layers[0].weight[0, 0] = float("inf")
    with pytest.raises(models.TrainingDiverged, match="diverged at step 0") as err:
        models.train(net, Square(), models.TrainConfig(**TINY))
    assert err.value.result.history["step"].tolist() == [0]


@pytest.mark.parametrize("kwargs, field", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=-3), "alpha"), (dict(alpha=(1.0, float("nan"))), "alpha"),
    (dict(l1=-1e-4), "l1"), (dict(optimizer="lbfgs"), "optimizer"), (dict(lr=0), "lr"),
    (dict(lr_decay=1.5), "lr_decay"), (dict(steps=-1), "steps"), (dict(batch_size=0), "batch_size"),
    (dict(dataset_size=0), "dataset_size"),
])
def test_bad_train_configs(kwargs, field):
    with pytest.raises(ValueError, match=field):
        models.TrainConfig(**kwargs)


def test_alpha_length_must_match_members():
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1))
    with pytest.raises(ValueError, match="alpha.*one per ensemble member"):
        models.train(ens, Square(), models.TrainConfig(alpha=(1.0, 2.0, 3.0), **TINY))


def test_task_model_mismatch_is_clear():
    net = models.MLP(models.MLPConfig(d_in=3, widths=(4,), d_out=1))
    with pytest.raises(ValueError, match="task=.*does not fit"):
        models.train(net, Square(), models.TrainConfig(**TINY))
    with pytest.raises(ValueError, match="d_out=1"):
        models.train(net.__class__(models.MLPConfig(d_in=2, widths=(4,), d_out=1)), Parallel(0.5),
                     models.TrainConfig(**TINY))


def test_parity_transformer_trains_and_exposes_neurons():
    # one bit per skill: learned within 60 steps from any seed (three-bit parities sit on a
    # plateau for hundreds of steps, where whether the loss dips is a coin flip of the data)
    task = SparseParity(n_skills=2, n_bits=6, bits_per_skill=1)
    net = models.ParityTransformer(models.ParityTransformerConfig(n_ctx=task.d_in, d_model=16, n_heads=4))
    assert "blocks.0.mlp.hook_post" in net.hook_dict and net.sites == {"blocks.0.mlp.hook_post": 64}
    _, cache = net.run_with_cache(task.sample(3, torch.Generator().manual_seed(0)).x)
    assert cache["blocks.0.mlp.hook_post"].shape == (3, task.d_in, 64)
    res = models.train(net, task, models.TrainConfig(l1=0, l2=0, lr=3e-3, **TINY))
    assert res.history["task_loss"][-1] < 0.8 * res.history["task_loss"][0]


def test_bad_model_configs():
    with pytest.raises(ValueError, match="widths"):
        models.MLPConfig(d_in=1, widths=(10, -3), d_out=1)
    with pytest.raises(ValueError, match="widths"):
        models.MLPConfig(d_in=1, widths=(), d_out=1)
    with pytest.raises(ValueError, match="d_in"):
        models.MLPConfig(d_in=0, widths=(4,), d_out=1)
    with pytest.raises(ValueError, match="activation"):
        models.MLPConfig(d_in=1, widths=(4,), d_out=1, activation="swish2")
    with pytest.raises(ValueError, match="n_heads"):
        models.ParityTransformerConfig(n_ctx=8, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="seeds"):
        models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=())


def test_transformer_training_is_reproducible_on_two_threads():
    """Same seed, same weights, bit for bit: no op whose backward accumulates in thread order."""
    task = models.tasks.SparseParity(n_skills=3, n_bits=12, bits_per_skill=3, alpha=0.9)
    cfg = models.ParityTransformerConfig(n_ctx=task.d_in, d_model=32, n_heads=4, seed=0)
    tc = models.TrainConfig(alpha=1.0, l1=0.0, l2=0.0, lr=3e-3, steps=30, batch_size=256, eval_points=2,
                            progress=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [models.train(models.ParityTransformer(cfg), task, tc).model.state_dict() for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    for other in runs[1:]:
        assert all(torch.equal(runs[0][k], other[k]) for k in runs[0])


class _FlushProbe(torch.nn.Module):
    """A linear model that notes, at every forward pass, whether subnormals flush to zero."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(1, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append(_subnormals_flush())
        return self.lin(x)


@pytest.mark.parametrize("before", [False, True])
def test_training_flushes_subnormals_and_restores_the_setting(before):
    probe = _FlushProbe()
    torch.set_flush_denormal(before)
    try:
        models.train(probe, Square(), models.TrainConfig(**{**TINY, "steps": 5, "eval_points": 1}))
        after = _subnormals_flush()
    finally:
        torch.set_flush_denormal(False)
    first = probe.seen.index(True)  # the set-up checks and the step-0 evaluation run as found
    assert set(probe.seen[:first]) <= {before} and all(probe.seen[first:]) and len(probe.seen) - first >= 5
    assert after is before
