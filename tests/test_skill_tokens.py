"""The corpus of known skills (``models.SkillTokens``), the transformer's token read-out, and one
member of the width family trained and counted (``interp.figures.lm_family``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import models
import probes
from interp.figures import lm_family


def _text(corpus, row):
    v = corpus.vocabulary()
    return [v[i] for i in row]


def test_every_sequence_carries_its_subtask_and_the_right_answer():
    c = models.SkillTokens(n_parity=3, n_bits=10, bits_per_skill=3, digits=2, n_count=7)
    held = c.held(50, seed=3)
    bits = c.parity.skill_bits
    for tokens, length, k, counted in zip(held.tokens, held.lengths, held.subtask, held.counted):
        words = _text(c, tokens[:length].tolist())
        assert words[0] == f"<{c.subtasks[k]}>"
        where = counted.nonzero().flatten().tolist()
        if k < 3:                                            # parity: the answer only
            b = [int(w) for w in words[1:11]]
            assert words[11] == "=" and int(words[12]) == sum(b[i] for i in bits[k].tolist()) % 2
            assert where == [12]
        elif c.subtasks[k] == "arithmetic":                  # the digits of a + b only
            a, b = int("".join(words[1:3])), int("".join(words[4:6]))
            assert words[3] == "+" and words[6] == "=" and int("".join(words[7:10])) == a + b
            assert where == [7, 8, 9]
        else:                                                # counting: every number after the first
            n = [int(w[1:]) for w in words[1:]]
            assert all((y - x) % 7 == 1 for x, y in zip(n, n[1:])) and where == list(range(2, len(words)))
    assert int(held.tokens.max()) < c.d_out == len(c.vocabulary())


def test_prose_windows_are_the_texts_characters_and_held_windows_come_from_its_unseen_end():
    from models.skill_tokens import HELD_SHARE, PROSE_CHARS, prose_codes

    c = models.SkillTokens(n_parity=2, n_bits=8, prose=True)
    assert c.subtasks[-1] == "prose" and c.d_out == len(c.vocabulary()) == 1 + 5 + 2 + 10 + 20 + len(PROSE_CHARS)
    codes = prose_codes()
    vocab = c.vocabulary()
    text = "".join(str(int(v)) if v < 10 else PROSE_CHARS[v - 10] for v in codes.tolist())
    cut = int(len(codes) * (1 - HELD_SHARE))
    batch = c.sample(600, torch.Generator().manual_seed(0))
    rows = (batch.subtask == 4).nonzero().flatten()
    assert len(rows) > 0
    for i in rows.tolist():
        words = [vocab[t] for t in batch.x[i].tolist()]
        assert words[0] == "<prose>" and "".join(words[1:]) in text[:cut]
        assert batch.y[i, 0] == -1 and torch.equal(batch.y[i, 1:-1], batch.x[i, 2:])  # every character after the first
    held = c.held(20, seed=3)
    for tokens, k in zip(held.tokens, held.subtask):
        if k == 4:
            window = "".join(vocab[t] for t in tokens[1:].tolist())
            assert window in text[cut:]
    assert models.tasks.Task.from_config(c.to_config()) == c
    with pytest.raises(ValueError, match="prose=1 is not allowed"):
        models.SkillTokens(prose=1)


def test_facts_are_a_fixed_lookup_of_keys_to_values_before_the_prose():
    c = models.SkillTokens(n_parity=2, n_bits=6, facts=40, facts_seed=5, prose=True)
    assert c.subtasks[-2:] == ("facts", "prose") and c.d_out == len(c.vocabulary())
    table = c.fact_values
    assert table.shape == (40,) and torch.equal(table, models.SkillTokens(facts=40, facts_seed=5).fact_values)
    assert not torch.equal(table, models.SkillTokens(facts=40, facts_seed=6).fact_values)
    seen = set()
    for batch in (c.sample(800, torch.Generator().manual_seed(0)), c.held(30, seed=2).eval_batch(180, torch.Generator())):
        for x, y, k in zip(batch.x.tolist(), batch.y.tolist(), batch.subtask.tolist()):
            if c.subtasks[k] != "facts":
                continue
            words = _text(c, x)
            key, value = int("".join(words[1:4])), int("".join(words[5:7]))
            assert words[0] == "<facts>" and words[4] == "=" and key < 40 and value == table[key]
            assert [i for i, t in enumerate(y) if t >= 0] == [4, 5]  # the value's two digits, predicted after = and v1
            seen.add(key)
    assert len(seen) > 30                                      # keys drawn across the table
    assert models.tasks.Task.from_config(c.to_config()) == c
    assert models.SkillTokens(n_parity=2, n_bits=6).subtasks == ("parity1", "parity2", "arithmetic", "counting")
    with pytest.raises(ValueError, match="facts=1001 is not allowed.*0, 1000"):
        models.SkillTokens(facts=1001)


def test_subtasks_are_drawn_with_zipf_frequencies_and_weighed_by_them():
    c = models.SkillTokens(n_parity=4, n_bits=12, alpha=0.6)
    k = np.arange(1, 7)
    p = k ** -1.6 / (k ** -1.6).sum()
    assert np.allclose(c.weights.numpy(), p)
    n = 40_000
    share = np.bincount(c.sample(n, torch.Generator().manual_seed(0)).subtask.numpy(), minlength=6) / n
    assert np.all(np.abs(share - p) < 4 * np.sqrt(p * (1 - p) / n)), (share, p)
    held = c.held(5, seed=1)
    assert np.allclose(held.weights.numpy(), p) and held.subtasks == c.subtasks
    assert torch.equal(held.tokens, c.held(5, seed=1).tokens) and not torch.equal(held.tokens, c.held(5, seed=2).tokens)


def test_the_corpus_round_trips_and_refuses_impossible_settings():
    c = models.SkillTokens(n_parity=2, n_bits=6)
    assert models.tasks.Task.from_config(c.to_config()) == c
    with pytest.raises(ValueError, match="bits_per_skill × n_skills ≤ n_bits"):
        models.SkillTokens(n_parity=5, n_bits=12, bits_per_skill=3)
    with pytest.raises(ValueError, match="digits=0 is not allowed"):
        models.SkillTokens(digits=0)


def test_the_token_read_out_is_a_causal_language_model():
    cfg = models.ParityTransformerConfig(n_ctx=9, d_model=16, n_tokens=20, d_out=20, readout="tokens",
                                         embedding="learned")
    net = models.ParityTransformer(cfg).eval()
    x = torch.randint(0, 20, (3, 9), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 5] = (y[:, 5] + 1) % 20
    out, changed = net(x), net(y)
    assert out.shape == (3, 9, 20)
    assert torch.equal(out[:, :5], changed[:, :5]) and not torch.allclose(out[:, 5:], changed[:, 5:])
    assert cfg.n_parameters == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="causal=False is not allowed"):
        models.ParityTransformerConfig(n_ctx=9, d_model=16, readout="tokens", causal=False)


@pytest.fixture(scope="module")
def member():
    """One small member of the family trained on a corpus of two parity skills: counting is
    learned within a few hundred steps."""
    r = lm_family.Recipe(d_model=(16,) * 3, d_mlp=(16, 32, 64), n_layers=1, seeds=(0, 1), steps=400, lr=3e-3,
                         batch=64, n_eval=16, tau=0.01, n_parity=2, n_bits=6)
    corpus = lm_family.corpus(r)
    net = models.ParityTransformer(lm_family.net(r, 1))
    res = models.train(net, corpus, lm_family.train_config(r))
    return r, corpus, res


def test_a_family_member_learns_counting_and_its_history_records_accuracy(member):
    r, corpus, res = member
    acc = res.history["accuracy"]                                        # [points, K]
    assert acc.shape[1] == len(corpus.subtasks)
    assert acc[-1, corpus.subtasks.index("counting")] > 0.95 > acc[0, corpus.subtasks.index("counting")]
    assert res.history["task_loss"][-1] < 0.5 * res.history["task_loss"][0]


def test_a_members_counts_are_every_neuron_ablated_exactly(member):
    r, corpus, res = member
    model = res.model.eval()
    held = corpus.held(r.n_eval, lm_family.EVAL_SEED)
    m = lm_family.measure(model, held, corpus, r.tau)
    batch = held.eval_batch(len(held), torch.Generator())
    # by hand: each neuron set to its mean over the evaluation tokens, the loss change in nats
    with torch.no_grad():
        base = held.subtask_losses(model(batch.x), batch)
    truth = np.zeros(len(corpus.subtasks))
    for site, d in model.sites.items():
        mu = probes.capture(model, batch.x, sites=[site], stats=("mean",))[site].mean.float()
        for j in range(d):
            def hook(act, hook, j=j):
                act = act.clone()
                act[..., j] = mu[j]
                return act
            with torch.no_grad():
                ablated = held.subtask_losses(model.run_with_hooks(batch.x, fwd_hooks=[(site, hook)]), batch)
            truth += ((ablated - base) > r.tau).numpy()
    assert m["count"] == truth.tolist() and all(lo == hi == n for (lo, hi), n in zip(m["interval"], truth))
    assert np.allclose(m["loss"], base.numpy(), rtol=1e-5) and truth.sum() > 0


def test_a_members_footprint_is_where_its_top_neurons_together_reach_half_the_mlps_cost(member):
    """N_k^½ checked against every n: ablating its top N_k^½ neurons together costs at least half
    of what ablating every live neuron costs, and its top N_k^½ - 1 cost less."""
    from interp import allocate
    from interp.scorers.ablation import joint_ablation_losses

    r, corpus, res = member
    model = res.model.eval()
    held = corpus.held(r.n_eval, lm_family.EVAL_SEED)
    batch = held.eval_batch(len(held), torch.Generator())
    alloc = allocate(model, held, method="census", inputs=batch, threshold=r.tau, progress=False,
                     options={"tau_units": "nats", "ablations": sum(model.sites.values())})
    got = lm_family.footprint(model, held, batch, alloc, r.tau)
    (site,) = alloc.sites
    means = {site: torch.as_tensor(alloc.mean[site], dtype=torch.float32)}
    found = 0
    for k in range(len(corpus.subtasks)):
        score = np.where(alloc.live[site], alloc.scores[site][:, k], -np.inf)
        order = np.argsort(-score, kind="stable")[:int(alloc.live[site].sum())]
        rows = batch.subtask == k
        sub = models.Batch(batch.x[rows], batch.y[rows], batch.subtask[rows])

        def cost(n):
            per = joint_ablation_losses(model, held, sub, means, [(site, j) for j in order[:n]])
            return per[:, 0].sum() / per[:, 1].sum()

        curve = np.array([cost(n) for n in range(len(order) + 1)])
        if curve[-1] - curve[0] <= r.tau:
            assert np.isnan(got[k])
            continue
        goal = curve[0] + lm_family.FOOTPRINT * (curve[-1] - curve[0])
        n = int(got[k])
        assert curve[n] >= goal > curve[n - 1], (corpus.subtasks[k], n, curve)
        found += 1
    assert found >= 2
