"""Measurements on neurons: live neurons, redundancy, ensembling and clustering on planted
nets, then on quickly trained ones (weights against ablation, the series probe, skill strengths)."""
import numpy as np
import pytest
import torch

import interp
import models
from neuron_plants import PLANT, PlantedTask, planted_mlp


# -- live neurons ------------------------------------------------------------------------------
def test_live_neurons_find_the_planted_dead_ones():
    live = interp.live_neurons(planted_mlp(), PlantedTask())
    assert live["hidden.0"].tolist() == [p != "dead" for p in PLANT]
    # a neuron whose variance is just under the threshold is dead, just over it live
    net = models.MLP(models.MLPConfig(d_in=1, widths=(2,), d_out=1, activation="linear"))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[0.99e-3 ** 0.5], [1.01e-3 ** 0.5]]) * 3 ** 0.5)  # var(x) = 1/3
    x = torch.linspace(-1, 1, 20001).unsqueeze(1)
    assert interp.live_neurons(net, x)["hidden.0"].tolist() == [False, True]
    assert interp.live_neurons(net, x, threshold=1e-4)["hidden.0"].tolist() == [True, True]


def test_live_neurons_of_an_ensemble_are_per_member():
    a, b = planted_mlp(), planted_mlp()
    with torch.no_grad():
        b.layers[0].weight[1] = 0
    live = interp.live_neurons(models.Ensemble.stack([a, b]), PlantedTask())["hidden.0"]
    assert live.shape == (2, 8) and live[0, 1] and not live[1, 1]


# -- redundancy --------------------------------------------------------------------------------
def test_redundancy_counts_planted_duplicates():
    net = models.MLP(models.MLPConfig(d_in=2, widths=(7,), d_out=1))
    w = torch.tensor([[2.0, 0], [2.0, 0], [2.0, 0], [0, 1.5], [0, 1.5], [1.0, -1.0], [0, 0]])
    b = torch.tensor([0.3, 0.3, 0.3, -0.2, -0.2, 0.0, 0.4])
    with torch.no_grad():
        net.layers[0].weight.copy_(w)
        net.layers[0].bias.copy_(b)
    red = interp.redundancy(net, models.tasks.Parallel())
    # three copies of one neuron, two of another, one alone, one dead
    assert red.counts["hidden.0"].tolist() == [2, 2, 2, 1, 1, 0, -1]
    assert red.fraction("hidden.0") == pytest.approx(5 / 6)
    assert red.fraction("hidden.0", of="all") == pytest.approx(5 / 7)          # the dead neuron counts
    with pytest.raises(ValueError, match="of"):
        red.fraction(of="dead")
    assert interp.redundancy(net, models.tasks.Parallel(), threshold=0.999).counts["hidden.0"].tolist() == \
        [2, 2, 2, 1, 1, 0, -1]
    assert red.to_dict()["fraction"]["hidden.0"] == pytest.approx(5 / 6)


def test_redundancy_signed_or_absolute():
    net = models.MLP(models.MLPConfig(d_in=1, widths=(2,), d_out=1, activation="linear"))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))  # perfectly anti-correlated
    x = torch.rand(500, 1)
    assert interp.redundancy(net, x).counts["hidden.0"].tolist() == [0, 0]
    assert interp.redundancy(net, x, absolute=True).counts["hidden.0"].tolist() == [1, 1]


# -- ensembling (SPEC A Fig. 6) ------------------------------------------------------------------
def test_ensembling_tells_independent_from_identical_errors():
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-1, 1, 2000)
    f = x ** 2
    n = 6
    indep = f + 0.05 * torch.randn(n, x.numel(), generator=g)
    shared_err = 0.05 * torch.randn(x.numel(), generator=g)
    ident = f + shared_err.expand(n, -1)
    a = interp.ensembling_from_outputs(indep, f, x=x)
    b = interp.ensembling_from_outputs(ident, f, x=x)
    assert a.mean_abs_corr < 0.1 and b.mean_abs_corr > 0.999
    # independent errors: averaging n regressors cuts the loss by n, as the 1/n law predicts
    assert a.combined == pytest.approx(a.predicted_independent, rel=0.25)
    assert a.optimal_given_corr == pytest.approx(a.predicted_independent, rel=0.25)
    # identical errors: nothing to gain; the 1/n law is off by a factor n
    assert b.combined == pytest.approx(b.mse.mean(), rel=1e-3)
    assert b.optimal_given_corr == pytest.approx(b.mse.mean(), rel=1e-3)
    assert b.combined > 4 * b.predicted_independent
    # as equal shares of one output the identical regressors' errors still move together
    assert interp.ensembling_from_outputs(ident / n, f, errors="share").mean_abs_corr > 0.999
    with pytest.raises(ValueError, match="errors"):
        interp.ensembling_from_outputs(ident, f, errors="other")


@pytest.mark.parametrize("n", [2, 3, 8])
def test_independent_law_band_tells_identical_from_independent_errors_at_any_n(n):
    # a network made of n equal shares f/n + e_r: its loss is that of the mean error
    g = torch.Generator().manual_seed(n)
    x = torch.linspace(-1, 1, 4000)
    f = x ** 2
    ratios = []
    for errs, at_law in ((0.05 * torch.randn(n, x.numel(), generator=g), True),        # independent: ratio ≈ 1
                         (0.05 * torch.randn(x.numel(), generator=g).expand(n, -1), False),  # identical: ratio n
                         (0.05 * torch.randn(x.numel(), generator=g) * torch.tensor(      # cancelling: ratio ≪ 1
                             [1.0, -1.0] * (n // 2) + [0.0] * (n % 2))[:, None], False)):
        errs = errs - errs.mean(1, keepdim=True)
        res = interp.ensembling_from_outputs(f / n + errs / n, f, observed=float((errs.mean(0) ** 2).mean()),
                                             errors="share")
        assert res.at_independent_law() is at_law, (n, res.loss_ratio)
        ratios.append(res.loss_ratio)
    assert ratios[0] == pytest.approx(1, abs=0.15) and ratios[1] == pytest.approx(n) and ratios[2] < 1e-6
    # at n = 2, identical errors give exactly 2: the edge of a fixed band [0.5, 2], outside [2^-½, 2^½]
    assert interp.ensembling_from_outputs(f[None] / 1, f).at_independent_law() is None     # one regressor: no test


def test_ensembling_pairs_planted_symmetric_neurons():
    net = models.MLP(models.MLPConfig(d_in=1, widths=(7,), d_out=1))
    w = torch.tensor([[1.5], [-2.5], [2.5], [-1.5], [0.8], [-0.81], [0.0]])
    b = torch.tensor([-0.5, 0.2, 0.2, -0.5, 0.9, 0.9, 0.3])
    v = torch.tensor([[1.0, 0.8, 0.8, 1.0, -0.5, -0.5, 0.2]])
    with torch.no_grad():
        net.layers[0].weight.copy_(w)
        net.layers[0].bias.copy_(b)
        net.layers[1].weight.copy_(v)
    res = interp.ensembling_test(net, models.tasks.Square(), n_points=1000)
    assert sorted(res.pairs) == [(0, 3), (1, 2), (4, 5)] and res.unpaired == []  # neuron 6 is dead
    assert res.errors.shape == (3, 1000) and res.corr.shape == (3, 3)
    assert res.observed is not None and res.observed > 0
    summary = res.summary()
    assert summary["n_regressors"] == 3 and np.isfinite(summary["mean_abs_corr"])


def test_ensembling_rejects_deep_nets():
    with pytest.raises(ValueError, match="one hidden layer"):
        interp.ensembling_test(models.MLP(models.MLPConfig(d_in=1, widths=(4, 4), d_out=1)), models.tasks.Square())


# -- clustering --------------------------------------------------------------------------------
def _two_module_net():
    net = planted_mlp()
    with torch.no_grad():  # drop the shared neurons: two separate modules remain
        net.layers[0].weight[6:] = 0
        net.layers[1].weight[:, 6:] = 0
    return net


def test_graph_clustering_splits_the_planted_modules():
    clusters = interp.cluster_neurons(_two_module_net(), PlantedTask())
    assert clusters.n_modules == 2
    mods = sorted((m["inputs"], m["outputs"], m["neurons"]["hidden.0"].tolist()) for m in clusters.modules)
    assert mods == [([0], [0], [0, 1]), ([1], [1], [2, 3])]
    assert clusters.labels["hidden.0"][4:].tolist() == [-1, -1, -1, -1]
    # with the shared neurons everything joins into one module
    assert interp.cluster_neurons(planted_mlp(), PlantedTask()).n_modules == 1


def test_score_and_coactivation_clustering_find_the_planted_groups():
    net, task = _two_module_net(), PlantedTask()
    by_scores = interp.cluster_neurons(net, task, method="scores", n_clusters=2)
    groups = sorted(sorted(m["neurons"]["hidden.0"].tolist()) for m in by_scores.modules)
    assert groups == [[0, 1], [2, 3]]
    by_corr = interp.cluster_neurons(net, task, method="coactivation", n_clusters=2)
    assert sorted(sorted(m["neurons"]["hidden.0"].tolist()) for m in by_corr.modules) == [[0, 1], [2, 3]]


# -- trained networks (quick) --------------------------------------------------------------------
@pytest.fixture(scope="module")
def parallel_ensemble():
    task = models.tasks.Parallel(beta=0.75)
    ens = models.Ensemble(models.MLPConfig(d_in=2, widths=(64,), d_out=2), seeds=(0, 1))
    config = models.TrainConfig(alpha=8.0, steps=4000, lr_decay_every=1000, eval_points=3, progress=False)
    return models.train(ens, task, config).model, task


def test_parallel_weights_and_ablation_agree_and_the_graph_splits(parallel_ensemble):
    ens, task = parallel_ensemble
    by_weights = interp.allocate(ens, task, method="weights", n_samples=2000)
    by_ablation = interp.allocate(ens, task, method="ablation", n_samples=2000)
    agree = total = 0
    for w, a in zip(by_weights, by_ablation):
        live = w.live["hidden.0"]
        assert live.sum() >= 4 and w.n_shared == 0  # no superposition
        agree += (np.array(w.assignment("hidden.0"))[live] == np.array(a.assignment("hidden.0"))[live]).sum()
        total += live.sum()
        assert w.counts()["x1^2"] > w.counts()["x2^2"]  # β = 0.75 buys subtask 1 more neurons
    assert agree / total >= 0.95
    assert interp.cluster_neurons(ens.member(0), task).n_modules == 2


def test_series_probe_finds_third_layer_neurons_of_both_signs():
    task = models.tasks.Series()
    net = models.MLP(models.MLPConfig(d_in=4, widths=(16, 16, 16, 16), d_out=1, seed=0))
    config = models.TrainConfig(alpha=100.0, steps=800, lr_decay_every=400, eval_points=3, progress=False)
    models.train(net, task, config)
    res = interp.probe_intermediate(net, task, "g", n_samples=2000)
    assert len(res.positive("hidden.2")) >= 1 and len(res.negative("hidden.2")) >= 1
    assert res.strongest("hidden.2") > 0.9
    # a linear probe on the third layer reads g off almost perfectly
    x = task.eval_batch(2000, torch.Generator().manual_seed(1)).x
    g = task.intermediates(x)["g"]
    assert interp.linear_probe(net, x, g, "hidden.2").r2_test > 0.95
    assert interp.correlations(net, x, g)["hidden.2"].shape == (16,)


def test_skill_strengths_of_a_parity_task():
    task = models.tasks.SparseParity(n_skills=3, n_bits=9, alpha=0.6)
    net = models.MLP(models.MLPConfig(d_in=task.d_in, widths=(8,), d_out=1))
    r = interp.skill_strengths(net, task, n_samples=300)
    assert r.shape == (3,) and torch.isfinite(r).all()
    with pytest.raises(ValueError, match="skill"):
        interp.skill_strengths(models.MLP(models.MLPConfig(d_in=1, widths=(2,), d_out=1)), models.tasks.Square())
