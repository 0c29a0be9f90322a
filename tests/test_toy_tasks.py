import itertools
import math

import pytest
import torch

from models.tasks import (FUNCTIONS, Batch, Function, Parallel, Series, SparseParity, Square, Task)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_square_targets_and_interval():
    task = Square(low=0.5, high=2.0)
    b = task.sample(1000, gen())
    assert b.x.min() >= 0.5 and b.x.max() <= 2.0
    torch.testing.assert_close(b.y, b.x**2)
    assert task.subtasks == ("x^2",)


def test_parallel_targets_and_weighted_loss():
    task = Parallel(beta=0.75)
    b = task.sample(256, gen())
    torch.testing.assert_close(b.y, b.x**2)
    pred = torch.zeros_like(b.y)
    mse1, mse2 = (b.y[:, 0] ** 2).mean(), (b.y[:, 1] ** 2).mean()
    torch.testing.assert_close(task.subtask_losses(pred, b), torch.stack([mse1, mse2]))
    torch.testing.assert_close(task.loss(pred, b), 0.75 * mse1 + 0.25 * mse2)
    # leading model axes pass through
    assert task.loss(pred.expand(3, -1, -1), b).shape == (3,)


def test_series_target_and_intermediate():
    task = Series()
    b = task.sample(100, gen())
    x = b.x
    g = (x[:, 0] - x[:, 1]) ** 2 + (x[:, 2] - x[:, 3]) ** 2
    torch.testing.assert_close(task.intermediates(x)["g"], g)
    torch.testing.assert_close(b.y[:, 0], g.sqrt())


@pytest.mark.parametrize("name", ["x^2", "x^3", "|x|", "exp", "sin", "sin^2"])
def test_function_family(name):
    b = Function(name).sample(50, gen())
    direct = {"x^2": b.x**2, "x^3": b.x**3, "|x|": b.x.abs(), "exp": b.x.exp(),
              "sin": torch.sin(math.pi * b.x), "sin^2": torch.sin(math.pi * b.x) ** 2}[name]
    torch.testing.assert_close(b.y, direct)
    assert name in FUNCTIONS


def test_sampling_is_deterministic_per_generator():
    t = Parallel(0.5)
    torch.testing.assert_close(t.sample(10, gen(3)).x, t.sample(10, gen(3)).x)
    assert not torch.equal(t.sample(10, gen(3)).x, t.sample(10, gen(4)).x)


def test_sparse_parity_frequencies_exact():
    for alpha in (0.0, 0.6, 0.9):
        task = SparseParity(n_skills=7, n_bits=21, bits_per_skill=3, alpha=alpha)
        k = torch.arange(1, 8, dtype=torch.float64)
        expected = k ** -(alpha + 1) / (k ** -(alpha + 1)).sum()
        assert torch.equal(task.weights, expected)
    # sampled frequencies follow them
    task = SparseParity(n_skills=5, n_bits=15, bits_per_skill=3, alpha=0.6)
    b = task.sample(200_000, gen())
    freq = torch.bincount(b.subtask, minlength=5).double() / 200_000
    torch.testing.assert_close(freq, task.weights, atol=4e-3, rtol=0)


@pytest.mark.parametrize("disjoint", [True, False])
def test_sparse_parity_labels_against_naive_loop(disjoint):
    task = SparseParity(n_skills=4, n_bits=12, bits_per_skill=3, alpha=0.5, scale=5.0, disjoint=disjoint, bits_seed=7)
    b = task.sample(300, gen(1))
    bits = task.skill_bits.tolist()
    for i in range(300):
        row = b.x[i].tolist()
        control, data = row[:4], row[4:]
        assert sum(control) == 1
        k = control.index(1.0)
        assert k == b.subtask[i].item()
        parity = sum(int(data[j]) for j in bits[k]) % 2
        assert b.y[i, 0].item() == (5.0 if parity == 0 else -5.0)
    if disjoint:
        assert bits == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    ce = SparseParity(n_skills=4, n_bits=12, bits_per_skill=3, alpha=0.5, loss_type="ce", disjoint=disjoint, bits_seed=7)
    bc = ce.sample(300, gen(1))
    assert torch.equal(bc.y, (b.y[:, 0] < 0).long())
    assert ce.d_out == 2


def test_skill_strength_planted():
    task = SparseParity(n_skills=3, n_bits=9, bits_per_skill=3, scale=2.0)
    b = task.eval_batch(3000, gen())
    assert torch.equal(torch.bincount(b.subtask), torch.tensor([1000, 1000, 1000]))
    # learned skill 1 fully, half of skill 2, nothing of skill 3
    factor = torch.tensor([1.0, 0.5, 0.0])[b.subtask].unsqueeze(1)
    r = task.skill_strength(b.y * factor + 0.3, b)
    torch.testing.assert_close(r, torch.tensor([1.0, 0.5, 0.0]), atol=1e-6, rtol=0)
    # per-skill loss: perfect on skill 1
    assert task.subtask_losses(b.y * factor, b)[0] == 0


def test_task_config_round_trip():
    for t in (Square(-2, 3), Parallel(0.85), Series(), Function("exp"),
              SparseParity(5, 32, 3, 0.9, 5.0, loss_type="ce", disjoint=False, bits_seed=2)):
        assert Task.from_config(t.to_config()) == t


@pytest.mark.parametrize("make, field", [
    (lambda: Parallel(beta=1.5), "beta"),
    (lambda: Parallel(beta=-0.1), "beta"),
    (lambda: Square(low=1, high=0), "high"),
    (lambda: Function("nope"), "name"),
    (lambda: SparseParity(n_skills=5, n_bits=10, bits_per_skill=3), "bits_per_skill"),
    (lambda: SparseParity(n_skills=0), "n_skills"),
    (lambda: SparseParity(alpha=-1.0), "alpha"),
    (lambda: SparseParity(loss_type="hinge"), "loss_type"),
])
def test_bad_task_configs(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_shared_bits_allowed_when_overlapping():
    task = SparseParity(n_skills=5, n_bits=10, bits_per_skill=3, disjoint=False)
    assert task.skill_bits.shape == (5, 3)
    assert all(len(set(r)) == 3 for r in task.skill_bits.tolist())


def test_cross_entropy_skill_strength_has_the_sign_of_a_learned_skill():
    """A classifier that puts its margin on the right class scores +margin/S on every skill."""
    t = SparseParity(3, 9, 3, 0.5, loss_type="ce")
    b = t.eval_batch(3000, gen())
    right = torch.nn.functional.one_hot(b.y, 2).double() * 4          # logit 4 on the true class
    torch.testing.assert_close(t.skill_strength(right, b), torch.full((3,), 4.0, dtype=torch.float64))
    torch.testing.assert_close(t.skill_strength(-right, b), torch.full((3,), -4.0, dtype=torch.float64))
    # the CE margin reads like the MSE output of the same data (+S for even parity there)
    mse = SparseParity(3, 9, 3, 0.5, scale=2.0)
    ce = SparseParity(3, 9, 3, 0.5, scale=2.0, loss_type="ce")
    bm, bc = mse.eval_batch(600, gen(1)), ce.eval_batch(600, gen(1))
    margin = torch.stack([torch.zeros_like(bm.y[:, 0]), -bm.y[:, 0]], -1)   # logit₁ − logit₀ = −y_mse
    torch.testing.assert_close(ce.skill_strength(margin, bc), mse.skill_strength(bm.y, bm))


def test_shared_bits_never_give_two_skills_one_bit_set():
    for seed in range(200):
        rows = SparseParity(100, 50, 3, disjoint=False, bits_seed=seed).skill_bits.tolist()
        assert len(set(map(tuple, rows))) == 100, seed
    # seeds without a duplicate keep the bit sets they always had (the first rows are unchanged)
    g = torch.Generator().manual_seed(2)
    first = [torch.randperm(50, generator=g)[:3].sort().values.tolist() for _ in range(81)]
    assert SparseParity(100, 50, 3, disjoint=False, bits_seed=2).skill_bits.tolist()[:81] == first
    with pytest.raises(ValueError, match="n_skills"):
        SparseParity(n_skills=5, n_bits=4, bits_per_skill=3, disjoint=False)   # only C(4, 3) = 4 sets


def test_random_disjoint_positions():
    task = SparseParity(5, 32, 3, 0.9, random_positions=True, bits_seed=3)
    bits = task.skill_bits
    assert bits.shape == (5, 3) and bits.unique().numel() == 15 and int(bits.max()) < 32
    assert not torch.equal(bits, torch.arange(15).reshape(5, 3))
    assert torch.equal(bits, SparseParity(5, 32, 3, 0.9, random_positions=True, bits_seed=3).skill_bits)
    assert not torch.equal(bits, SparseParity(5, 32, 3, 0.9, random_positions=True, bits_seed=4).skill_bits)
    b = task.sample(500, gen())
    data = b.x[:, 5:].long()
    parity = data.gather(1, bits[b.subtask]).sum(1) % 2
    assert torch.equal(b.y[:, 0], (1 - 2 * parity).float())
    assert Task.from_config(task.to_config()) == task
