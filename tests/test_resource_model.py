import itertools
import json

import numpy as np
import pytest

from interp.theory.fits import fit_power_law
from interp.theory.resource import (
    CHINCHILLA_EXPONENT, chinchilla_conversion, composite_loss, exponent_from_ratio, homogeneous_growth,
    optimal_allocation,
)


def _brute_force_continuous(a, p, total, steps=400):
    """Best Σ a_i n_i^-p_i on a grid over the simplex (m = 2 or 3)."""
    a, p = np.asarray(a, float), np.broadcast_to(np.asarray(p, float), (len(a),))
    f = (np.arange(1, steps) / steps)
    if len(a) == 2:
        n = np.stack([f, 1 - f], 1) * total
    else:
        g1, g2 = np.meshgrid(f, f, indexing="ij")
        keep = g1 + g2 < 1
        n = np.stack([g1[keep], g2[keep], 1 - g1[keep] - g2[keep]], 1) * total
    loss = (a * n ** -p).sum(1)
    i = int(np.argmin(loss))
    return n[i], loss[i]


@pytest.mark.parametrize("a, p", [
    ([0.75, 0.25], 1.0),
    ([3.0, 1.0, 0.2], 1.0),
    ([3.0, 1.0, 0.2], 0.5),
    ([1.0, 2.0, 0.5], [1.0, 0.5, 2.0]),    # per-subtask exponents: numeric path
])
def test_optimal_allocation_matches_brute_force(a, p):
    total = 100.0
    alloc = optimal_allocation(a, total, p)
    n_bf, loss_bf = _brute_force_continuous(a, p, total)
    assert alloc.n.sum() == pytest.approx(total)
    assert alloc.loss <= loss_bf + 1e-12
    assert alloc.loss == pytest.approx(loss_bf, rel=1e-3)
    assert np.allclose(alloc.n, n_bf, atol=total * 0.01)
    assert alloc.method == ("numeric" if np.ndim(p) else "closed form")


def test_integer_allocation_matches_exhaustive_search():
    a, p, total = [5.0, 2.0, 0.7], [1.0, 1.5, 0.5], 14
    best = min((sum(ai * ni ** -pi for ai, ni, pi in zip(a, n, p)), n)
               for n in itertools.product(range(1, total), repeat=3) if sum(n) == total)
    alloc = optimal_allocation(a, total, p, integer=True)
    assert alloc.loss == pytest.approx(best[0], rel=1e-12)
    assert tuple(alloc.n.astype(int)) == best[1]


def test_square_root_rule_and_the_appendix_c_tension():
    alloc = optimal_allocation([0.75, 0.25], 200)
    assert alloc.n[0] / alloc.n[1] == pytest.approx(np.sqrt(3.0))          # ≈ 1.73, not 2.35
    assert alloc.fractions.sum() == pytest.approx(1.0)
    # The measured 2.35 would need a subtask exponent of about 0.29 instead of 1.
    p = exponent_from_ratio([0.75, 0.25], 2.35)
    assert p == pytest.approx(np.log(3) / np.log(2.35) - 1)
    assert optimal_allocation([0.75, 0.25], 200, p).n[0] / optimal_allocation([0.75, 0.25], 200, p).n[1] \
        == pytest.approx(2.35)


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_composite_loss_inherits_the_subtask_exponent(p):
    totals = np.logspace(1, 4, 12)
    loss = composite_loss([0.5, 0.3, 0.2], totals, p)
    assert loss.shape == totals.shape
    fit = fit_power_law(totals, loss, n_boot=50)
    assert fit.exponent == pytest.approx(-p, abs=1e-8)
    expected = totals ** -p * np.sum(np.array([0.5, 0.3, 0.2]) ** (1 / (p + 1))) ** (p + 1)
    assert np.allclose(loss, expected)


def test_homogeneous_growth_detects_constant_and_drifting_shares():
    rng = np.random.default_rng(0)
    n = np.logspace(1, 3, 8)
    noise = np.exp(0.03 * rng.standard_normal((8, 2)))
    test = homogeneous_growth(np.stack([0.7 * n, 0.3 * n], 1) * noise, names=("x1^2", "x2^2"), n_boot=300)
    assert test.homogeneous
    assert all(lo <= 1 <= hi for lo, hi in test.slope_intervals)
    assert test.mean_ratio[0] == pytest.approx(0.7, abs=0.02)
    mean, sd = test.pair_ratio()
    assert mean == pytest.approx(7 / 3, rel=0.05)
    json.dumps(test.to_dict())

    drifting = np.stack([0.7 * n, 0.3 * n ** 1.3], 1) * noise
    bad = homogeneous_growth(drifting, n_boot=300)
    assert not bad.homogeneous
    assert bad.slopes[1] > 1.05 and bad.slopes[0] < 0.95   # one share grows, the other shrinks


def test_homogeneous_growth_against_a_control_variable():
    rng = np.random.default_rng(1)
    alphas = np.array([32, 64, 128, 256, 512.0])
    total = np.array([20, 35, 60, 90, 130.0])
    counts = np.stack([0.7 * total, 0.3 * total], 1) * np.exp(0.03 * rng.standard_normal((5, 2)))
    test = homogeneous_growth(counts, alphas, n_boot=300)
    assert test.against == "x" and test.homogeneous
    with pytest.raises(ValueError, match="^against="):
        test.slopes


def test_chinchilla_conversion():
    prop = chinchilla_conversion(-1.0)
    assert prop.params_exponent == pytest.approx(-1 / 3)
    assert prop.difference == pytest.approx(-1 / 3 - CHINCHILLA_EXPONENT)
    assert chinchilla_conversion(-1.0, "fixed").params_exponent == pytest.approx(-0.5)
    assert chinchilla_conversion(-1.0, 0.5).params_exponent == pytest.approx(-0.4)
    # A measured exponent carries its interval through.
    rng = np.random.default_rng(2)
    n = np.logspace(1, 3, 20)
    fit = fit_power_law(n, 3 / n * np.exp(0.05 * rng.standard_normal(20)), n_boot=300)
    conv = chinchilla_conversion(fit)
    lo, hi = conv.params_exponent_interval
    assert lo == pytest.approx(fit.exponent_interval[0] / 3) and hi == pytest.approx(fit.exponent_interval[1] / 3)
    assert conv.covers_chinchilla() == (lo <= -0.34 <= hi)
    assert json.loads(json.dumps(conv.to_dict()))["chinchilla"] == -0.34
    assert chinchilla_conversion(-1.0).covers_chinchilla() is None


@pytest.mark.parametrize("call, name", [
    (lambda: optimal_allocation([1.0, -1.0], 10), "a"),
    (lambda: optimal_allocation([1.0, 1.0], 0), "total"),
    (lambda: optimal_allocation([1.0, 1.0], 10, [1.0, 2.0, 3.0]), "exponent"),
    (lambda: optimal_allocation([1.0, 1.0], 10, 0.0), "exponent"),
    (lambda: optimal_allocation([1.0, 1.0], 10.5, integer=True), "total"),
    (lambda: homogeneous_growth([[1, 2], [3, 0], [4, 5]]), "counts"),
    (lambda: homogeneous_growth([[1, 2], [3, 4]]), "counts"),
    (lambda: homogeneous_growth([[1, 2], [3, 4], [5, 6]], names=("a",)), "names"),
    (lambda: chinchilla_conversion(-1.0, "deep"), "depth"),
    (lambda: chinchilla_conversion("steep"), "loss_exponent"),
    (lambda: exponent_from_ratio([1.0, 1.0], 2.0), "a"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}="):
        call()


def test_growth_plot(tmp_path):
    from interp.report import plot_growth

    n = np.logspace(1, 3, 6)
    test = homogeneous_growth(np.stack([0.6 * n, 0.4 * n], 1), n_boot=50)
    plot_growth(test, path=tmp_path / "growth.png")
    assert (tmp_path / "growth.png").stat().st_size > 1000
