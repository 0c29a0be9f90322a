import pytest
import torch
from torch import nn

import models
import probes
from probes import Moments


def _data(n=1000, d=5, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g) * torch.arange(1, d + 1) + 3.0
    y = x[:, :k] * 0.5 + torch.randn(n, k, generator=g)
    return x, y


def test_moments_match_direct_computation_over_uneven_chunks():
    x, y = _data()
    m = Moments(5, cov=True, cross=2)
    for chunk in torch.tensor_split(torch.arange(1000), [1, 8, 300, 301, 999]):
        m.update(x[chunk], y[chunk])
    xd, yd = x.double(), y.double()
    assert m.n == 1000
    assert torch.allclose(m.mean, xd.mean(0))
    assert torch.allclose(m.var, xd.var(0, correction=0))
    assert torch.allclose(m.cov, torch.cov(xd.T, correction=0))
    assert torch.allclose(m.corr(), torch.corrcoef(xd.T))
    full = torch.corrcoef(torch.cat([xd, yd], 1).T)[:5, 5:]
    assert torch.allclose(m.cross_corr(), full)


def test_moments_keep_a_leading_member_axis_and_are_float64():
    x, _ = _data(n=300, d=3)
    stacked = torch.stack([x, 2 * x + 1])  # two "members"
    m = Moments(3, lead=(2,))
    for c in stacked.split(64, dim=1):
        m.update(c)
    assert m.mean.dtype == torch.float64 and m.var.shape == (2, 3)
    assert torch.allclose(m.var[1], 4 * m.var[0])


def test_constant_feature_correlates_with_nothing():
    x = torch.stack([torch.linspace(0, 1, 50), torch.full((50,), 2.0), torch.linspace(1, 0, 50)], 1)
    m = Moments(3, cov=True)
    m.update(x)
    c = m.corr()
    assert c[1].abs().max() == 0 and c[0, 2] == pytest.approx(-1.0)


def _mlp(widths=(6, 4), seed=0):
    return models.MLP(models.MLPConfig(d_in=2, widths=widths, d_out=2, seed=seed))


def test_capture_on_a_zoo_mlp_matches_raw_activations_and_ignores_batch_size():
    net = _mlp()
    x = torch.rand(777, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    a = probes.capture(net, x, stats=("mean", "var", "corr", "raw"), batch_size=100)
    b = probes.capture(net, x, stats=("var",), batch_size=1000)
    assert list(a) == ["hidden.0", "hidden.1"]
    raw = a["hidden.1"].raw.double()
    assert raw.shape == (777, 4) and a["hidden.1"].n == 777
    assert torch.allclose(a["hidden.1"].var, raw.var(0, correction=0))
    assert torch.allclose(a["hidden.1"].corr, torch.corrcoef(raw.T))
    assert torch.allclose(a["hidden.0"].var, b["hidden.0"].var)


def test_capture_leaves_no_hooks_behind_even_on_error():
    net = _mlp()
    with pytest.raises(ValueError, match="inputs=.*shape \\(10, 3\\)"):
        probes.capture(net, torch.rand(10, 3))  # wrong input width: the forward fails, named as the inputs
    assert all(not hp.fwd_hooks for hp in net.hook_dict.values())
    probes.capture(net, torch.rand(10, 2))
    assert all(not hp.fwd_hooks for hp in net.hook_dict.values())


def test_capture_on_an_ensemble_keeps_stats_per_member():
    nets = [_mlp(seed=s) for s in (3, 4, 5)]
    ens = models.Ensemble.stack(nets)
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(2))
    got = probes.capture(ens, x, stats=("mean", "var", "cov"), batch_size=64)
    assert got.members == 3 and got["hidden.0"].cov.shape == (3, 6, 6)
    for i, net in enumerate(nets):
        one = probes.capture(net, x, stats=("mean", "var", "cov"))
        assert torch.allclose(got["hidden.0"].var[i], one["hidden.0"].var, atol=1e-6)
        assert torch.allclose(got["hidden.1"].cov[i], one["hidden.1"].cov, atol=1e-6)


class TupleOut(nn.Module):
    def forward(self, x):
        return torch.tanh(x), "extra"


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(2, 5)
        self.act = nn.ReLU()
        self.mid = nn.Linear(5, 3)
        self.pair = TupleOut()
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        h, _ = self.pair(self.mid(self.act(self.inp(x))))
        return self.out(h)


def test_capture_on_a_plain_module_by_module_name():
    torch.manual_seed(0)
    net = Plain()
    x = torch.rand(100, 2)
    assert probes.neuron_sites(net) == {"act": None}
    got = probes.capture(net, x, sites=["act", "mid", "pair"], stats=("var",))
    with torch.no_grad():
        h = torch.relu(net.inp(x))
        t = torch.tanh(net.mid(h))
    assert torch.allclose(got["act"].var, h.double().var(0, correction=0))
    assert torch.allclose(got["pair"].var, t.double().var(0, correction=0))
    assert got["mid"].width == 3


def test_capture_cross_correlation_with_targets():
    net = _mlp(widths=(3,))
    x = torch.rand(400, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    a = probes.capture(net, x, stats=("cross", "raw"), targets=x[:, 0], batch_size=64)
    raw = a["hidden.0"].raw.double()
    want = torch.stack([torch.corrcoef(torch.stack([raw[:, j], x[:, 0].double()]))[0, 1] for j in range(3)])
    assert torch.allclose(a["hidden.0"].cross_corr[:, 0], want)
    b = probes.capture(net, x, stats=("cross",), targets=lambda piece: piece[:, 0])  # a function of the input
    assert torch.allclose(b["hidden.0"].cross_corr, a["hidden.0"].cross_corr)


def test_memory_does_not_grow_with_the_number_of_inputs():
    net = _mlp()
    small = probes.capture(net, [torch.rand(50, 2) for _ in range(2)], stats=("mean", "var", "cov"))
    big = probes.capture(net, (torch.rand(50, 2) for _ in range(200)), stats=("mean", "var", "cov"))
    assert big["hidden.0"].n == 10_000
    for s in ("hidden.0", "hidden.1"):
        m_small, m_big = small[s].moments, big[s].moments
        assert m_small.c.shape == m_big.c.shape and m_small.mean.shape == m_big.mean.shape
        assert big[s]._raw is None  # nothing per input is kept unless asked


def test_capture_on_a_transformer_counts_positions_as_samples():
    net = models.ParityTransformer(models.ParityTransformerConfig(n_ctx=6, d_model=8, n_heads=2, n_layers=2))
    x = torch.randint(0, 2, (20, 6), generator=torch.Generator().manual_seed(0)).float()
    got = probes.capture(net, x, stats=("var", "raw"), batch_size=7)
    assert list(got) == ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"]
    assert got["blocks.1.mlp.hook_post"].n == 120 and got["blocks.1.mlp.hook_post"].width == 32


def test_clear_errors():
    net = _mlp()
    with pytest.raises(ValueError, match="hidden.0"):  # the message lists the sites that exist
        probes.capture(net, torch.rand(5, 2), sites=["hidden.7"])
    with pytest.raises(ValueError, match="non-empty"):
        probes.capture(net, torch.zeros(0, 2))
    with pytest.raises(ValueError, match="non-empty"):
        probes.capture(net, [])
    with pytest.raises(ValueError, match="neuron sites"):
        probes.capture(nn.Linear(2, 2), torch.rand(5, 2))
    with pytest.raises(ValueError, match="stats"):
        probes.capture(net, torch.rand(5, 2), stats=("median",))
    with pytest.raises(ValueError, match="targets"):
        probes.capture(net, torch.rand(5, 2), stats=("cross",))
