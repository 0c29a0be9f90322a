"""Exact ablation that skips the blocks before a neuron and runs several neurons side by side,
and the uncertainty of its scores: standard errors that cover a planted effect at their rate,
decisions under false-discovery control, count intervals, sequential verification within a
budget."""
import numpy as np
import pytest
import torch
from dataclasses import replace

import models
import interp
import probes
import probes.cuts
from interp.evaluation import eval_pieces
from interp.allocation import base_pass
from interp.lm import boot_native, wrap_hf
from tiny_lms import tiny_gpt2, tiny_llama
from interp.scorers import ScoreContext, ablation_deltas, exact_ablation


def context(model, task, n=18, batch=5, seed=0, live=None):
    sites = list(probes.resolve_sites(model, None))
    pieces = eval_pieces(model, task, None, n, seed, batch)
    members = probes.n_members(model)
    base = base_pass(model, task, pieces, sites, members, None)
    live = live or {s: torch.ones_like(base["var"][s], dtype=torch.bool) for s in sites}
    return ScoreContext(model=model, task=task, pieces=pieces, sites=sites, base=base, live=live, members=members,
                        threshold=0.01, dominance=0.1, progress=False, max_elements=2 ** 18)


def token_task(vocab=64, seqs=12, length=10):
    g = torch.Generator().manual_seed(0)
    return models.TokenTask.from_tensors(torch.randint(2, vocab, (seqs, length), generator=g),
                                         torch.full((seqs,), length), torch.arange(seqs) % 3, d_vocab=vocab)


MODELS = {
    "tiny GPT-2": lambda: (wrap_hf(tiny_gpt2(n_layer=3, n_embd=16, n_head=2)), token_task()),
    "tiny Llama": lambda: (wrap_hf(tiny_llama(n_layer=3, d_model=16, n_head=2, n_kv_head=1, d_mlp=24)), token_task()),
    "TransformerLens native": lambda: (boot_native(n_layers=3, d_model=16, n_heads=2, d_vocab=64), token_task()),
    "zoo transformer": lambda: (models.ParityTransformer(models.ParityTransformerConfig(
        n_ctx=models.tasks.SparseParity(n_skills=3, n_bits=9).d_in, d_model=8, n_heads=2, n_layers=2, d_mlp=16)),
        models.tasks.SparseParity(n_skills=3, n_bits=9)),
    "zoo MLP": lambda: (models.MLP(models.MLPConfig(d_in=2, widths=(12, 10, 8), d_out=2)), models.tasks.Parallel(0.5)),
    "nn.Sequential": lambda: (torch.nn.Sequential(torch.nn.Linear(2, 9), torch.nn.ReLU(), torch.nn.Linear(9, 7),
                                                  torch.nn.GELU(), torch.nn.Linear(7, 2)), models.tasks.Parallel(0.5)),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_skipping_side_by_side_ablation_equals_one_full_forward_per_neuron(name):
    torch.manual_seed(0)
    model, task = MODELS[name]()
    ctx = context(model, task)
    assert probes.cuts.block_list(model, ctx.sites) is not None
    ids = {s: torch.arange(0, ctx.base["mean"][s].shape[-1], 2) for s in ctx.sites}
    fast = exact_ablation(ctx, ids)                                         # skips, several side by side
    slow = exact_ablation(replace(ctx, max_elements=1), ids, skip=False)    # one full forward per neuron
    for s in ctx.sites:
        a, b = fast[s].score()[ids[s]], slow[s].score()[ids[s]]
        assert b.abs().max() > 0
        scale = float(b.abs().max())           # float32 sums in another order: agreement to 1e-4 of the largest
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * scale)
        torch.testing.assert_close(fast[s].stderr()[ids[s]], slow[s].stderr()[ids[s]], rtol=1e-3, atol=1e-4 * scale)
    # the model is left as it was
    batch = next(iter(ctx.pieces))
    with torch.no_grad():
        again = interp.scorers.output_of(model(batch.x))
        out, _ = probes.cuts.capture_inputs(probes.cuts.block_list(model, ctx.sites), model, batch.x, [0])
    torch.testing.assert_close(again, interp.scorers.output_of(out))


def test_resuming_at_a_block_runs_no_earlier_block():
    model = wrap_hf(tiny_llama(n_layer=3, d_model=16, n_head=2, n_kv_head=1, d_mlp=24))
    x = torch.randint(2, 64, (2, 6))
    cut = probes.cuts.block_list(model, ["blocks.2.mlp.hook_post"])
    out, streams = probes.cuts.capture_inputs(cut, model, x, [2])
    fired = []
    with torch.no_grad(), probes.attached(model, ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post",
                                                  "blocks.2.mlp.hook_post"], lambda s, a: fired.append(s)), \
            probes.cuts.resumed(cut, 2, streams[2], copies=3):
        again = interp.scorers.output_of(model(x.repeat(3, 1)))
    assert fired == ["blocks.2.mlp.hook_post"]
    torch.testing.assert_close(again, interp.scorers.output_of(out).repeat(3, 1, 1))


def _trained_square():
    task = models.tasks.Square()
    net = models.MLP(models.MLPConfig(d_in=1, widths=(8, 8), d_out=1, seed=3))
    return models.train(net, task, models.TrainConfig(alpha=1, steps=400, progress=False)).model, task


def test_standard_errors_cover_the_planted_effect_at_their_rate():
    # the effect of substituting the recorded mean, measured on 2^17 fresh samples, is the truth
    # each 512-sample estimate's 95% interval should cover
    net, task = _trained_square()
    sites = ["hidden.0", "hidden.1"]
    big = eval_pieces(net, task, None, 2 ** 17, 999, 2 ** 14)
    covered = []
    for seed in range(40):
        ctx = context(net, task, n=512, batch=512, seed=seed)
        ids = {s: ctx.base["var"][s].gt(1e-3).nonzero().flatten() for s in sites}
        est, truth = exact_ablation(ctx, ids), exact_ablation(ctx, ids, pieces=big)
        for s in sites:
            gap = (truth[s].score()[ids[s]] - est[s].score()[ids[s]]).abs()
            covered.append((gap <= 1.96 * est[s].stderr()[ids[s]]).numpy().ravel())
    rate = np.concatenate(covered).mean()
    assert 0.90 <= rate <= 0.99, rate


def test_false_discovery_control_holds_where_no_neuron_serves():
    # a random net; the threshold is set at the largest true effect, so no neuron truly exceeds it
    task = models.tasks.Square()
    net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1, seed=5))
    big = eval_pieces(net, task, None, 2 ** 16, 999, 2 ** 14)
    tested, plain, seeds = [], [], 40
    for seed in range(seeds):
        ctx = context(net, task, n=256, batch=256, seed=seed)
        ids = {"hidden.0": ctx.base["var"]["hidden.0"].gt(1e-3).nonzero().flatten()}
        t = float(exact_ablation(ctx, ids, pieces=big)["hidden.0"].score()[ids["hidden.0"]].max())
        alloc = interp.allocate(net, task, method="ablation", n_samples=256, seed=seed, threshold=t, progress=False,
                                dominance=0.0)
        tested.append(sum(alloc.counts().values()))
        plain.append(sum(alloc.rethreshold(fdr=None).counts().values()))
    # Benjamini-Hochberg under the global null: P(any false assignment) ≤ 0.05 (binomial slack for 40 seeds)
    assert np.mean(np.array(tested) > 0) <= 0.125, tested
    # the point estimates alone assign the neuron at the boundary about half the time
    assert np.mean(np.array(plain) > 0) >= 0.25, plain


def test_count_intervals_and_their_json():
    net, task = _trained_square()
    alloc = interp.allocate(net, task, method="ablation", n_samples=1024, progress=False)
    (low, high), = alloc.count_intervals().values()
    count, = alloc.counts().values()
    assert low <= high and high >= 1 and alloc.stderr is not None
    assert alloc.units["hidden.0"].max() == 1024
    back = interp.Allocation.from_json(alloc.to_json())
    assert back.count_intervals() == alloc.count_intervals() and back.counts() == alloc.counts()
    assert "95% interval" in alloc.table()
    with pytest.raises(ValueError, match="confidence"):
        alloc.count_intervals(confidence=1.5)
    with pytest.raises(ValueError, match="fdr"):
        alloc.rethreshold(fdr=2)


def test_sequential_verification_spends_tokens_where_undecided_and_keeps_to_its_budget():
    torch.manual_seed(0)
    task = models.tasks.Parallel(0.5)
    net = models.train(models.MLP(models.MLPConfig(d_in=2, widths=(24, 16), d_out=2)), task,
                       models.TrainConfig(alpha=4, steps=300, progress=False)).model
    opts = {"min_candidates": 12, "sample": 12, "budget": None}
    alloc = interp.allocate(net, task, method="verified", n_samples=2048, progress=False, options=opts)
    units = np.concatenate([alloc.units[s][alloc.exact[s]] for s in alloc.sites])
    assert units.min() < units.max() == 2048            # decided early on a share of the samples, or run to the end
    assert alloc.notes["rounds"] >= 2
    small = interp.allocate(net, task, method="verified", n_samples=2048, progress=False,
                            options={**opts, "budget": 0.05})
    assert small.notes["passes"] <= 0.05 + 1e-9
    assert sum(e.sum() for e in small.exact.values()) < sum(e.sum() for e in alloc.exact.values())
    with pytest.raises(ValueError, match="budget"):
        interp.allocate(net, task, method="verified", n_samples=64, progress=False, options={"budget": -1})
