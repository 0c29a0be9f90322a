import json

import numpy as np
import pytest
import torch
from torch import nn

import interp
import models
from interp.scorers.ablation import _ablate_forward, _ablate_readout, _masks
from neuron_plants import PLANT, PLANT_DEEP, PlantedTask, expected, planted_deep_mlp, planted_mlp


METHODS = [("weights", None), ("ablation", None), ("verified", None), ("attribution", {"attribution": "magnitude"})]


@pytest.mark.parametrize("method, options", METHODS)
def test_every_method_recovers_the_planted_one_layer_net(method, options):
    alloc = interp.allocate(planted_mlp(), PlantedTask(), method=method, n_samples=2000, options=options)
    assert alloc.method == method
    assert alloc.assignment("hidden.0") == expected(PLANT)
    assert alloc.counts() == {"A": 4, "B": 4}
    assert alloc.counts(exclusive=True) == {"A": 2, "B": 2}
    assert alloc.n_shared == 2 and alloc.n_live == 6
    scores = alloc.scores["hidden.0"]
    # a neuron wired only to A has no effect at all on B, and the other way round
    assert np.all(scores[[0, 1], 1] == 0) and np.all(scores[[2, 3], 0] == 0)
    assert np.all(scores[[0, 1], 0] > 0.1) and np.all(scores[[2, 3], 1] > 0.1)


@pytest.mark.parametrize("method, options", METHODS)
def test_every_method_recovers_the_planted_two_layer_net(method, options):
    alloc = interp.allocate(planted_deep_mlp(), PlantedTask(deep=True), method=method, n_samples=2000,
                            options=options)
    assert alloc.assignment("hidden.0") == expected(PLANT)
    assert alloc.assignment("hidden.1") == expected(PLANT_DEEP)
    assert alloc.by_layer()["hidden.1"] == {"A": 2, "B": 2, "shared": 1, "unallocated": 0, "dead": 1, "live": 5,
                                            "total": 6}


def test_auto_picks_weights_for_one_layer_and_ablation_for_deeper():
    assert interp.allocate(planted_mlp(), PlantedTask(), n_samples=500).method == "weights"
    assert interp.allocate(planted_deep_mlp(), PlantedTask(deep=True), n_samples=500).method == "ablation"


def test_ablation_through_the_readout_equals_a_forward_pass():
    net = planted_deep_mlp()
    x = torch.rand(50, 2) * 2 - 1
    kept = {}
    import probes
    with torch.no_grad(), probes.attached(net, ["hidden.1"], lambda s, a: kept.__setitem__(s, a)):
        pred = net(x)
    mu = kept["hidden.1"].mean(0)
    ids = torch.tensor([0, 2, 5])
    fast = _ablate_readout(pred, kept["hidden.1"], mu, net.layers[2].weight.detach().T, ids, None)
    slow = _ablate_forward(net, x, "hidden.1", mu, _masks(ids.unsqueeze(1), mu.shape[-1]), None)
    assert fast.shape == slow.shape == (3, 50, 2)
    assert torch.allclose(fast, slow, atol=1e-6)


def test_ablation_score_is_the_mean_ablation_loss_change():
    net, task = planted_deep_mlp(), PlantedTask(deep=True)
    batch = task.eval_batch(300, torch.Generator().manual_seed(0))
    alloc = interp.allocate(net, task, method="ablation", inputs=batch, batch_size=64)
    import probes
    acts = probes.capture(net, batch.x, stats=("mean",))
    mu = acts["hidden.0"].mean.float()

    def swap(site, a):
        a = a.clone()
        a[:, 6] = mu[6]
        return a
    with torch.no_grad():
        base = task.subtask_losses(net(batch.x), batch)
        with probes.attached(net, ["hidden.0"], swap):
            ablated = task.subtask_losses(net(batch.x), batch)
    want = ((ablated - base) / base).numpy()
    assert np.allclose(alloc.scores["hidden.0"][6], want, rtol=1e-4)


def test_ensemble_gives_one_allocation_per_member():
    a, b = planted_mlp(), planted_mlp()
    perm = torch.tensor([4, 1, 7, 3, 0, 5, 6, 2])  # member 1: the same function, neurons reordered
    with torch.no_grad():
        b.layers[0].weight.copy_(a.layers[0].weight[perm])
        b.layers[0].bias.copy_(a.layers[0].bias[perm])
        b.layers[1].weight.copy_(a.layers[1].weight[:, perm])
    ens = models.Ensemble.stack([a, b])
    for method in ("weights", "ablation", "verified"):
        allocs = interp.allocate(ens, PlantedTask(), method=method, n_samples=1000)
        assert isinstance(allocs, interp.Allocation) and len(allocs) == 2 and allocs.n_members == 2
        assert [al.member for al in allocs] == [0, 1]
        assert allocs.counts()["A"].tolist() == [4, 4] and allocs.n_live.tolist() == [6, 6]
        assert allocs[0].assignment("hidden.0") == expected(PLANT)
        assert allocs[1].assignment("hidden.0") == [expected(PLANT)[i] for i in perm]


def test_result_round_trips_through_json_and_reports_tables(tmp_path):
    alloc = interp.allocate(planted_mlp(), PlantedTask(), method="ablation", n_samples=500)
    text = alloc.to_json(tmp_path / "a.json")
    back = interp.Allocation.from_json(tmp_path / "a.json")
    assert json.loads(text)["counts"] == {"A": 4, "B": 4}
    assert back.assignment("hidden.0") == alloc.assignment("hidden.0") and back.counts() == alloc.counts()
    assert alloc.ratio("A", "B") == 1.0 and alloc.ratios() == {"A": 0.5, "B": 0.5}
    table = alloc.table()
    assert "hidden.0" in table and "shared" in table and "dead" in table
    assert alloc.neurons("A", "hidden.0").tolist() == [0, 1, 6, 7]
    assert alloc.neurons("A", "hidden.0", exclusive=True).tolist() == [0, 1]
    # thresholds can change afterwards; with dominance 1 only a neuron's top subtask counts
    assert alloc.rethreshold(live_threshold=10.0).n_live == 0
    assert alloc.rethreshold(dominance=1.0).n_shared <= 2


def test_plot_draws_a_bar_per_site():
    import matplotlib
    matplotlib.use("Agg")
    alloc = interp.allocate(planted_deep_mlp(), PlantedTask(deep=True), method="weights", n_samples=300)
    ax = alloc.plot()
    assert len(ax.get_xticks()) == 2


def test_probe_method_reads_the_intermediates():
    task = models.tasks.Series()
    net = models.MLP(models.MLPConfig(d_in=4, widths=(6,), d_out=1))
    with torch.no_grad():  # neuron 0 grows with (x1 - x2)² on one side (corr ≈ 0.48), neuron 2 reads x3 only
        net.layers[0].weight.zero_()
        net.layers[0].weight[0] = torch.tensor([3.0, -3.0, 0, 0])
        net.layers[0].bias[0] = -3.0
        net.layers[0].weight[2] = torch.tensor([0, 0, 1.0, 0])
    alloc = interp.allocate(net, task, method="probe", threshold=0.3, n_samples=4000)
    assert alloc.subtasks == ("g",) and np.isnan(alloc.losses).all()
    assert alloc.live["hidden.0"].tolist() == [True, False, True, False, False, False]
    assert alloc.assignment("hidden.0")[0] == "g" and alloc.assignment("hidden.0")[2] == "unallocated"


class NoGroups(PlantedTask):
    input_groups = None


def test_clear_errors():
    net = planted_mlp()
    with pytest.raises(ValueError, match="hidden.0"):
        interp.allocate(net, PlantedTask(), sites=["hidden.3"])
    with pytest.raises(ValueError, match="d_in"):
        interp.allocate(net, models.tasks.Series())
    empty = models.tasks.Batch(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="non-empty"):
        interp.allocate(net, PlantedTask(), inputs=empty)
    with pytest.raises(ValueError, match="neuron sites"):
        interp.allocate(nn.Sequential(nn.Linear(2, 2)), PlantedTask())
    with pytest.raises(ValueError, match="method"):
        interp.allocate(net, PlantedTask(), method="magic")
    with pytest.raises(ValueError, match="intermediate"):
        interp.allocate(net, PlantedTask(), method="probe")
    with pytest.raises(ValueError, match="input groups"):
        interp.allocate(net, NoGroups(), method="weights")
    with pytest.raises(ValueError, match="zoo MLP"):
        interp.allocate(models.ParityTransformer(models.ParityTransformerConfig(n_ctx=7, d_model=8, n_heads=2)),
                        models.tasks.SparseParity(n_skills=2, n_bits=5, bits_per_skill=2), method="weights")


def test_signed_attribution_is_the_derivative_of_the_ablation_path():
    """attribution = d/dε of the loss with a ← a + ε·(mean − a), at ε = 0, relative to the loss."""
    net, task = planted_deep_mlp(), PlantedTask(deep=True)
    batch = task.eval_batch(400, torch.Generator().manual_seed(0))
    alloc = interp.allocate(net, task, method="attribution", inputs=batch, progress=False)
    import probes
    mu = probes.capture(net, batch.x, stats=("mean",))["hidden.0"].mean.float()
    eps = 1e-3

    def path(e, j):
        def hook(site, a):
            a = a.clone()
            a[:, j] = a[:, j] + e * (mu[j] - a[:, j])
            return a
        with torch.no_grad(), probes.attached(net, ["hidden.0"], hook):
            return task.subtask_losses(net(batch.x).double(), batch)
    base = path(0.0, 0)
    for j in (0, 2, 6):
        slope = (path(eps, j) - path(-eps, j)) / (2 * eps) / base
        assert np.allclose(alloc.scores["hidden.0"][j], slope.numpy(), rtol=2e-2, atol=1e-6)


def test_a_registered_scorer_runs_through_allocate():
    from interp.scorers import SCORERS, Scores, register_scorer

    @register_scorer("first_half", 0.5, "1 for the first half of each site's neurons")
    def first_half(ctx):
        out = {}
        for s in ctx.sites:
            n = ctx.live[s].shape[-1]
            v = torch.zeros(n, len(ctx.task.subtasks))
            v[: n // 2] = 1.0
            out[s] = v
        return Scores(out)
    try:
        alloc = interp.allocate(planted_mlp(), PlantedTask(), method="first_half", n_samples=300)
        assert alloc.method == "first_half" and alloc.threshold == 0.5
        assert alloc.assignment("hidden.0") == ["shared", "shared", "shared", "shared"] + ["unallocated"] * 4
    finally:
        del SCORERS["first_half"]
    with pytest.raises(ValueError, match="first_half"):
        interp.allocate(planted_mlp(), PlantedTask(), method="first_half")


def test_agreement_of_methods_on_the_planted_net():
    net, task = planted_deep_mlp(), PlantedTask(deep=True)
    exact = interp.allocate(net, task, method="ablation", n_samples=1000)
    magnitude = interp.allocate(net, task, method="attribution", n_samples=1000,
                                options={"attribution": "magnitude"})
    agree = interp.agreement(magnitude, exact)
    assert agree["neurons"] == 11 and agree["jaccard"] == {"A": 1.0, "B": 1.0}
    assert agree["assigned_a"] == agree["assigned_b"] == exact.counts()
    assert all(r > 0.5 for r in agree["spearman"].values())
    with pytest.raises(ValueError, match="same sites"):
        interp.agreement(exact, interp.allocate(planted_mlp(), PlantedTask(), method="ablation", n_samples=100))


def test_ensemble_allocation_round_trips_and_says_how_to_get_a_member(tmp_path):
    ens = models.Ensemble.stack([planted_mlp(), planted_mlp()])
    alloc = interp.allocate(ens, PlantedTask(), method="ablation", n_samples=500)
    back = interp.Allocation.from_json(alloc.to_json(tmp_path / "ens.json"))
    assert back.n_members == 2 and [m.assignment("hidden.0") for m in back] == [expected(PLANT)] * 2
    with pytest.raises(ValueError, match=r"alloc\[i\]"):
        alloc.by_layer()
    with pytest.raises(ValueError, match="member"):
        alloc[2]
    assert "member=1" in alloc.table()


def test_bad_arguments_are_refused_before_any_work():
    net = planted_mlp()
    for kwargs, name in [({"batch_size": 0}, "batch_size"), ({"batch_tokens": -1}, "batch_tokens"),
                         ({"live_rule": "loose"}, "live_rule"), ({"options": [1]}, "options"),
                         ({"method": "verified", "options": {"candidates": 2.0}}, "candidates")]:
        with pytest.raises(ValueError, match=name):
            interp.allocate(net, PlantedTask(), n_samples=100, **kwargs)
