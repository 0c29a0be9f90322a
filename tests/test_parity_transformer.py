"""The sparse-parity transformer against the emergence paper's authors' description (SPEC B,
"as the authors' own code runs it"): causal attention, a read-out over every position, a
fixed one-hot [bit, position] input, default init with halved output projections."""
import math

import pytest
import torch

import models
from models.transformer import n_params


def _net(**kw):
    return models.ParityTransformer(models.ParityTransformerConfig(**{"n_ctx": 10, "d_model": 16, "n_heads": 4, **kw}))


def _bits(n=8, n_ctx=10, seed=0):
    return torch.randint(0, 2, (n, n_ctx), generator=torch.Generator().manual_seed(seed)).float()


def test_parameter_count_matches_the_authors_model():
    """32 bits + 5 control bits, width 512, 4 heads, one block: 3 192 833 parameters."""
    n = n_params(models.ParityTransformer(models.ParityTransformerConfig(n_ctx=37)))
    assert abs(n - 3_192_833) <= 0.01 * 3_192_833
    assert n == 3_192_833


@pytest.mark.parametrize("site", ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "ln_final"])
def test_causal_mask_a_later_bit_never_changes_an_earlier_position(site):
    net = _net(n_layers=2)
    x = _bits()
    for j in (3, 9):
        y = x.clone()
        y[:, j] = 1 - y[:, j]
        grab = {}
        if site == "ln_final":
            h = net.ln_final.register_forward_hook(lambda m, i, o: grab.setdefault(len(grab), o))
            net(x), net(y)
            h.remove()
            a, b = grab[0], grab[1]
        else:
            _, ca = net.run_with_cache(x)
            _, cb = net.run_with_cache(y)
            a, b = ca[site], cb[site]
        assert torch.equal(a[:, :j], b[:, :j])              # earlier positions untouched
        assert not torch.allclose(a[:, j:], b[:, j:])        # the flipped position itself moves
    # the bidirectional variant is not causal: a later bit reaches position 0
    bi = _net(causal=False)
    _, ca = bi.run_with_cache(x)
    y = x.clone()
    y[:, 9] = 1 - y[:, 9]
    _, cb = bi.run_with_cache(y)
    assert not torch.allclose(ca["blocks.0.hook_resid_post"][:, 0], cb["blocks.0.hook_resid_post"][:, 0])


def test_readout_sees_every_position_through_its_own_weights():
    net = _net()
    assert net.W_U.shape == (10 * 16, 1)
    resid = torch.randn(4, 10, 16, requires_grad=True)
    out = (net.ln_final(resid).flatten(-2) @ net.W_U + net.b_U).sum()
    out.backward()
    per_position = resid.grad.abs().sum((0, 2))               # [pos]
    assert bool((per_position > 0).all())
    # flipping the first bit moves the output even though no later position attends back to it
    x = _bits()
    y = x.clone()
    y[:, 0] = 1 - y[:, 0]
    assert not torch.allclose(net(x), net(y))


def test_input_is_a_fixed_one_hot_of_value_and_position_through_linear_and_relu():
    net = _net()
    x = _bits()
    _, cache = net.run_with_cache(x)
    onehot = torch.cat([torch.nn.functional.one_hot(x.long(), 2).float(),
                        torch.eye(10).expand(x.shape[0], 10, 10)], -1)            # [batch, pos, 2 + n_ctx]
    torch.testing.assert_close(cache["hook_embed"], torch.relu(onehot @ net.W_E + net.b_E))
    assert not hasattr(net, "W_pos")


def test_default_init_with_output_projections_halved():
    cfg = models.ParityTransformerConfig(n_ctx=8, d_model=256, n_heads=4)
    net = models.ParityTransformer(cfg).requires_grad_(False)
    bound = 1 / math.sqrt(256)                    # fan-in of Q, K, V, O and the MLP input
    for w in (net.blocks[0].attn.W_Q, net.blocks[0].attn.W_V, net.blocks[0].mlp.W_in):
        assert abs(float(w.abs().max()) - bound) < 0.01 * bound
    assert abs(float(net.blocks[0].attn.W_O.abs().max()) - bound / 2) < 0.01 * bound
    assert abs(float(net.blocks[0].mlp.W_out.abs().max()) - 1 / math.sqrt(1024) / 2) < 0.01 / math.sqrt(1024)
    assert float(net.blocks[0].mlp.b_out.abs().max()) <= 1 / math.sqrt(1024) / 2
    assert float(net.b_E.abs().max()) > 0 and float(net.blocks[0].attn.b_Q.abs().max()) > 0   # biases drawn too
    # one seed, one model
    again = models.ParityTransformer(cfg)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))


def test_the_earlier_variant_is_kept_bit_for_bit():
    """causal=False, mean read-out, learned tables, normal init: the model the figure used before."""
    net = _net(causal=False, readout="mean", embedding="learned", init="normal", init_std=0.02).requires_grad_(False)
    assert net.W_U.shape == (16, 1) and net.W_pos.shape == (10, 16) and net.W_E.shape == (2, 16)
    g = torch.Generator().manual_seed(0)
    for w in net.weights():
        assert torch.equal(w, torch.empty_like(w).normal_(0.0, 0.02, generator=g))
    assert all(float(b.abs().max()) == 0 for b in (net.b_U, net.blocks[0].attn.b_O, net.blocks[0].mlp.b_in))


@pytest.mark.parametrize("field, value", [("readout", "max"), ("embedding", "sinusoid"), ("init", "xavier"),
                                          ("causal", 1)])
def test_bad_transformer_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        models.ParityTransformerConfig(n_ctx=4, d_model=8, n_heads=2, **{field: value})
