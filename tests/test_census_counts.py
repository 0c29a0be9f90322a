"""Counts of serving neurons with intervals that cover the truth: the census design
(``interp.census``) on planted populations whose true count is known, on an exhaustively
ablated trained language model, and through ``interp.allocate(method="census")``; the
estimator (``interp.uncertainty.stratified_count``) against exact cases; every Allocation's
estimate inside its own interval."""
import math

import numpy as np
import pytest
import torch

import interp
import models
from interp.census import Design, count_servers
from interp.lm import wrap_hf
from interp.uncertainty import CountEstimate, neyman, stratified_count
from tiny_lms import pattern_task, trained_tiny_llama

DRAWS = 200


def planted(n=4000, servers=60, hidden=5, noise=0.5, seed=1):
    """Changes in units of τ = 1: non-servers near 0 (a slight positive drift, as ablations
    of a trained model show), servers in (1.05, 3); the screen adds ``noise`` and reads 0 for
    ``hidden`` of the servers, the very bottom of its magnitude ranking (a screen that misses
    them outright)."""
    g = np.random.default_rng(seed)
    eff = g.normal(0.002, 0.01, n)
    idx = g.choice(n, servers, replace=False)
    eff[idx] = g.uniform(1.05, 3.0, servers)
    screen = eff + g.normal(0, noise, n)
    screen[idx[:hidden]] = 0.0
    return eff, screen, np.arange(n) // 500


def additive(eff):
    return lambda blocks: np.array([eff[b].sum() for b in blocks])


def draws(eff, screen, groups, design, joint=None, n=DRAWS):
    joint = joint or additive(eff)
    out = [count_servers(screen, 1.0, lambda ids: eff[ids], joint, groups, design, seed=s) for s in range(n)]
    return [e for e, _ in out], [r for _, r in out]


SMALL = Design(census=32, region=512, ablations=160, tail="groups", block=64, tail_pilot=32, blocks=None)   # run to the end
WHOLE = Design(census=32, region=64, ablations=260, tail="groups", block=64, tail_pilot=32, blocks=None)  # the region measured whole


@pytest.mark.parametrize("noise,hidden", [(0.05, 0), (0.5, 5), (2.0, 5), (5.0, 20)])
def test_census_intervals_cover_a_planted_count_at_their_rate_with_screens_good_and_bad(noise, hidden):
    eff, screen, groups = planted(noise=noise, hidden=hidden)
    truth = int((eff > 1.0).sum())
    est, _ = draws(eff, screen, groups, SMALL)
    cover = np.mean([e.low <= truth <= e.high for e in est])
    assert cover >= 0.93, (noise, cover)
    assert all(e.low <= e.estimate <= e.high for e in est)
    values = np.array([e.estimate for e in est])
    # no bias beyond noise: the mean of 200 draws within 3 standard errors of the truth
    assert abs(values.mean() - truth) <= 3 * values.std() / math.sqrt(len(values)) + 0.5, (values.mean(), truth)


def test_census_by_sampling_alone_covers_too_and_says_when_it_cannot_narrow():
    eff, screen, groups = planted(noise=0.5, hidden=5)
    truth = int((eff > 1.0).sum())
    design = Design(census=32, ablations=200, tail="sample", strata=5)
    est, _ = draws(eff, screen, groups, design)
    assert np.mean([e.low <= truth <= e.high for e in est]) >= 0.93
    assert all(e.low <= e.estimate <= e.high for e in est)
    # 5 servers hidden among 3 900 units cannot be bounded by 200 ablations: the answer says so
    wide = est[0]
    assert not wide.determined and wide.statement.startswith("undetermined: interval [")
    assert "budget for ±30%" in wide.statement and wide.budget_for_target > 200


def test_group_testing_a_random_sample_of_tail_blocks_covers_at_its_rate():
    eff, screen, groups = planted(noise=0.5, hidden=8)
    truth = int((eff > 1.0).sum())
    # this population's screen errs without flipping signs: ranked by its signed value
    design = Design(census=32, region=64, ablations=200, tail="groups", block=32, tail_pilot=16, clusters=40,
                    rank="signed")
    est, rec = draws(eff, screen, groups, design)
    assert np.mean([e.low <= truth <= e.high for e in est]) >= 0.93
    assert all(e.low <= e.estimate <= e.high for e in est)
    assert all(r["block_ablations"] < r["tail"]["clusters"][0] for r in rec)   # fewer tests than the tail has blocks
    assert all(r["tail"]["clusters"][:2] == [r["tail"]["clusters"][0], 40] for r in rec)


def test_group_tests_find_servers_the_screen_missed_and_check_additivity():
    eff, screen, groups = planted(noise=0.05, hidden=10)
    truth = int((eff > 1.0).sum())
    est, rec = count_servers(screen, 1.0, lambda ids: eff[ids], additive(eff), groups, WHOLE, seed=0)
    assert est.estimate == est.low == est.high == truth      # every server measured, every block cleared
    assert rec["tail"]["servers_found"] >= 8 and rec["tail"]["additivity_worst"] < 1e-9
    assert est.ablations == rec["single_ablations"] + rec["block_ablations"] < eff.size / 4

    # blocks whose joint change is far from the sum of their neurons': the warning says so
    def saturating(blocks):
        return np.array([np.tanh(eff[b].sum()) * 0.4 for b in blocks])
    est, rec = count_servers(screen, 1.0, lambda ids: eff[ids], saturating, groups, WHOLE, seed=0)
    assert rec["tail"]["detection_failed"] and "do not add" in est.note
    assert est.high - est.low > 1000 and not est.determined and est.low <= truth <= est.high


def test_stratified_count_against_exact_cases():
    assert stratified_count(7, []) == (7.0, 7, 7)
    assert stratified_count(2, [(50, 50, 4), (10, 10, 0)]) == (6.0, 6, 6)          # measured in full: exact
    est, low, high = stratified_count(0, [(1000, 100, 0)])
    assert (est, low) == (0.0, 0) and 30 <= high <= 40                               # about 3.7 × 1000/100
    est, low, high = stratified_count(3, [(1000, 100, 5)])
    assert est == 53.0 and 5 + 3 <= low < est < high <= 1000 - 95 + 3
    # a 95% interval from one stratum covers the truth at its rate (hypergeometric draws)
    g = np.random.default_rng(0)
    hits = np.zeros(1000, dtype=bool)
    hits[:30] = True
    cover = [lo <= 30 <= hi for lo, hi in (stratified_count(0, [(1000, 80, int(hits[g.choice(1000, 80, replace=False)]
                                                                                 .sum()))])[1:] for _ in range(400))]
    assert np.mean(cover) >= 0.93
    assert neyman([100, 100, 5], [0.5, 0.1, 0.5], 30, [0, 0, 3]).tolist() == [24, 5, 1]   # ∝ N_h S_h: 24, 4.8, 1.2
    assert neyman([100, 4], [0.1, 0.5], 20, [0, 2]).tolist() == [18, 2]              # never past a stratum


def test_count_estimates_unpack_as_intervals_and_round_trip():
    e = CountEstimate(40.0, 30, 52, ablations=100, budget_for_target=300.0)
    low, high = e
    assert (low, high) == (30, 52) and e.determined            # ±15 below 50
    assert not CountEstimate(100.0, 60, 140).determined
    assert CountEstimate.from_dict(e.to_dict()).to_dict() == e.to_dict()
    with pytest.raises(ValueError, match="tail='mixed' is not allowed"):
        Design(tail="mixed")
    with pytest.raises(ValueError, match="census=-1"):
        Design(census=-1)


@pytest.fixture(scope="module")
def trained():
    model = wrap_hf(trained_tiny_llama(300))
    task = pattern_task(32, n_seq=12, seed=99)
    exhaustive = interp.allocate(model, task, method="ablation", progress=False, fdr=None)
    return model, task, exhaustive


def test_census_on_a_trained_lm_measures_exactly_and_its_interval_holds_the_exhaustive_count(trained):
    model, task, exhaustive = trained
    opts = {"census": 8, "region": 32, "ablations": 40, "tail": "groups", "block": 8, "tail_pilot": 8}
    for screen in ("attribution", "ig"):
        alloc = interp.allocate(model, task, method="census", progress=False, options={**opts, "screen": screen})
        for k, name in enumerate(alloc.subtasks):
            truth = int(sum((exhaustive.scores[s][exhaustive.live[s], k] > alloc.threshold).sum() for s in alloc.sites))
            e = alloc.estimate()[name]
            assert e.low <= truth <= e.high and e.low <= e.estimate <= e.high, (screen, name, truth, e)
        for s in alloc.sites:     # measured pairs: the exhaustive ablation's scores, on every sample
            pairs = np.isfinite(alloc.stderr[s])
            assert pairs.any()
            assert np.allclose(alloc.scores[s][pairs], exhaustive.scores[s][pairs], rtol=1e-6, atol=1e-12)
        # decisions stay apart from the count: a pair never measured is never certified
        for s in alloc.sites:
            assert not (alloc.assigned(s) & ~np.isfinite(alloc.stderr[s])).any()
        back = interp.Allocation.from_json(alloc.to_json())
        assert back.estimate() == alloc.estimate() and back.counts() == alloc.counts()
        assert "estimates" in alloc.to_dict(per_neuron=False)


def test_census_covers_an_exhaustive_real_population_over_many_draws(trained):
    """The design, drawn 200 times, over the exhaustively measured neurons of a trained LM,
    ranked by its real attribution screen."""
    from interp.scorers import attribution_sums
    from interp.allocation import base_pass
    from interp.evaluation import eval_pieces
    from interp.scorers import ScoreContext
    import probes

    model, task, exhaustive = trained
    sites = list(exhaustive.sites)
    pieces = eval_pieces(model, task, None, 4096, 0, 64)
    base = base_pass(model, task, pieces, sites, None, None)
    live = {s: torch.from_numpy(exhaustive.live[s]) for s in sites}
    ctx = ScoreContext(model=model, task=task, pieces=pieces, sites=sites, base=base, live=live, members=None,
                       threshold=0.01, dominance=0.1, progress=False)
    screen = attribution_sums(ctx)["signed"]
    groups = np.concatenate([np.full(int(exhaustive.live[s].sum()), i) for i, s in enumerate(sites)])
    for k, name in enumerate(exhaustive.subtasks):
        eff = np.concatenate([exhaustive.scores[s][exhaustive.live[s], k] for s in sites])
        scr = np.concatenate([screen[s][live[s], k].numpy() for s in sites])
        truth = int((eff > 0.01).sum())
        design = Design(census=8, region=32, ablations=24, tail="groups", block=8, tail_pilot=8)
        est = [count_servers(scr, 0.01, lambda ids: eff[ids], additive(eff), groups, design, seed=d)[0]
               for d in range(DRAWS)]
        assert np.mean([e.low <= truth <= e.high for e in est]) >= 0.93, name
        assert all(e.low <= e.estimate <= e.high for e in est)


def test_every_allocation_with_intervals_holds_its_estimate():
    task = models.tasks.Parallel(0.5)
    net = models.train(models.MLP(models.MLPConfig(d_in=2, widths=(24, 16), d_out=2)), task,
                       models.TrainConfig(alpha=4, steps=300, progress=False)).model
    for method, opts in (("ablation", {}), ("attribution", {}), ("weights", {}),
                         ("verified", {"min_candidates": 8, "sample": 8}),
                         ("census", {"census": 8, "region": 16, "ablations": 24, "block": 4, "tail_pilot": 4})):
        if method == "weights":
            one = models.train(models.MLP(models.MLPConfig(d_in=2, widths=(24,), d_out=2)), task,
                               models.TrainConfig(alpha=4, steps=100, progress=False)).model
            alloc = interp.allocate(one, task, method=method, n_samples=256, progress=False)
        else:
            alloc = interp.allocate(net, task, method=method, n_samples=256, progress=False, options=opts)
        for name, e in alloc.estimate().items():
            assert e.low <= e.estimate <= e.high, (method, name, e)
            assert alloc.count_intervals()[name] == (e.low, e.high)


def test_census_refuses_bad_settings_before_any_work(trained):
    model, task, _ = trained
    with pytest.raises(ValueError, match=r"options\['screen'\]='lrp' is not allowed"):
        interp.allocate(model, task, method="census", progress=False, options={"screen": "lrp"})
    with pytest.raises(ValueError, match="block=0 is not allowed"):
        interp.allocate(model, task, method="census", progress=False, options={"block": 0})
    with pytest.raises(ValueError, match="options"):
        interp.allocate(model, task, method="census", progress=False, options={"candidates": 0.1})


def test_a_block_budget_that_runs_out_leaves_the_interval_open_and_says_so():
    eff, screen, groups = planted(noise=2.0, hidden=5)
    truth = int((eff > 1.0).sum())
    tight = Design(census=32, region=512, ablations=160, tail="groups", block=64, tail_pilot=32, blocks=40)
    est, rec = count_servers(screen, 1.0, lambda ids: eff[ids], additive(eff), groups, tight, seed=0)
    assert rec["block_ablations"] <= 40 + tight.checks + 1 and rec["tail"]["uncleared"] > 0
    assert est.low <= truth <= est.high and not est.determined
    assert "not cleared within the block budget" in est.note


def test_census_covers_smollm2s_exhaustive_reference():
    """``scripts/smollm2_exhaustive.py`` writes SmolLM2 neurons' exact changes on the study's
    quick tokens (256 per subtask), layer by layer; the file on record holds its last layer
    (1 536 neurons, 5/3/2/5 servers at τ = 0.01). The design drawn 200 times over the layers it
    holds, ranked by either of SmolLM2's own screens, covers the true N_k at its rate without
    bias (a block's change taken as the sum of its neurons': the file holds no joint ablations)."""
    import json
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "smollm2_exhaustive.npz"
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    sites = meta["sites"]
    live = [data[f"live/{s}"] for s in sites]
    groups = np.concatenate([np.full(int(m.sum()), i) for i, m in enumerate(live)])
    for k, name in enumerate(meta["subtasks"]):
        eff = np.concatenate([data[f"scores/{s}"][m, k] for s, m in zip(sites, live)]).astype(float)
        truth = int((eff > 0.01).sum())
        assert truth >= 2, name                            # a population with servers to find
        for kind in ("screen", "ig"):
            scr = np.concatenate([data[f"{kind}/{s}"][m, k] for s, m in zip(sites, live)]).astype(float)
            est = [count_servers(scr, 0.01, lambda ids: eff[ids], additive(eff), groups,
                                 Design(census=16, region=64, ablations=120), seed=d)[0] for d in range(DRAWS)]
            assert np.mean([e.low <= truth <= e.high for e in est]) >= 0.93, (name, kind)
            assert all(e.low <= e.estimate <= e.high for e in est)
            values = np.array([e.estimate for e in est])
            assert abs(values.mean() - truth) <= 3 * values.std() / math.sqrt(DRAWS) + 0.5, (name, kind, values.mean())


def test_the_removal_ratio_interval_covers_a_planted_ratio_and_widens_with_the_counts_interval():
    """The SmolLM2 study's removal test (``lm_resources.removal_ratio``): per-sequence losses
    whose loss with n of N neurons removed is 1.5 × what N/(N − n) predicts; its bootstrap
    interval over 200 sequences covers 1.5 at about its rate (200 draws; ≥ 0.92 allows two
    binomial standard errors below 0.95) and holds its point; an uncertain N widens it."""
    from interp.figures.lm_resources import removal_ratio

    g = np.random.default_rng(0)
    N, n, truth = 40.0, np.array([0, 10, 20]), 1.5
    law = N / (N - 20)
    cover, wide = 0, []
    for d in range(DRAWS):
        tokens = g.integers(20, 64, 200).astype(float)
        base = g.gamma(4.0, 0.5, 200) * tokens
        per = np.stack([np.stack([base * s * g.lognormal(0, 0.2, 200), tokens], 1)
                        for s in (1.0, 1.0 + 0.5 * (truth * law - 1.0), truth * law)])
        r = removal_ratio(per, n, CountEstimate(N, 40, 40), 500, d)
        assert r["n"] == 20 and r["interval"][0] <= r["ratio"] <= r["interval"][1]
        cover += r["interval"][0] <= truth <= r["interval"][1]
        if d < 5:
            loose = removal_ratio(per, n, CountEstimate(N, 30, 80), 500, d)
            wide.append(loose["interval"][1] - loose["interval"][0] > r["interval"][1] - r["interval"][0])
    assert cover / DRAWS >= 0.92 and all(wide)
    assert removal_ratio(per, n, CountEstimate(3.0, 3, 3), 100, 0) is None      # too few points at or below N/2


def test_a_budget_that_ends_within_the_pilots_still_estimates_without_bias():
    """Pilots that use up the budget are the strata's random samples: the estimate is not stuck
    at the servers measured (it was, when only draws after a pilot counted)."""
    eff, screen, groups = planted(n=400, servers=120, hidden=0, noise=2.0)
    truth = int((eff > 1.0).sum())
    design = Design(census=8, ablations=40, tail="sample", strata=4, pilot=8)
    est, rec = draws(eff, screen, groups, design)
    assert all(r["single_ablations"] == 40 for r in rec)
    assert np.mean([e.low <= truth <= e.high for e in est]) >= 0.93
    values = np.array([e.estimate for e in est])
    assert abs(values.mean() - truth) <= 3 * values.std() / math.sqrt(len(values)) + 0.5, (values.mean(), truth)


def test_a_census_kept_to_half_the_budget_narrows_a_dense_count_and_still_covers():
    """Servers dense far down the ranking (1 500 of 20 000, a noisy screen): a census free to
    grow spends the budget on the top ranks and leaves the rest unsampled; kept to half of it,
    the strata below are sampled and the interval narrows, at the same coverage."""
    g = np.random.default_rng(3)
    eff = g.normal(0.002, 0.01, 20_000)
    idx = g.choice(eff.size, 1500, replace=False)
    eff[idx] = g.uniform(1.05, 3.0, idx.size)
    screen = eff + g.normal(0, 1.0, eff.size)
    width = {}
    for share in (1.0, 0.5):
        design = Design(census=32, ablations=400, growth_share=share)
        est = [count_servers(screen, 1.0, lambda ids: eff[ids], design=design, seed=s)[0] for s in range(DRAWS)]
        assert np.mean([e.low <= 1500 <= e.high for e in est]) >= 0.93
        assert all(e.low <= e.estimate <= e.high for e in est)
        width[share] = np.median([(e.high - e.low) / e.estimate for e in est])
    assert width[0.5] < 0.5 * width[1.0], width
    with pytest.raises(ValueError, match="growth_share"):
        Design(growth_share=0.0)
