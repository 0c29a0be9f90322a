"""Each FULL recipe of the resource-model figures against the values Song et al. (2024) state in
their text (quoted beside each), every departure of a recipe from them listed with its reason,
and the budget ladders keeping the paper's learning-rate decay on every rung."""
import dataclasses

import numpy as np
import pytest

import models
from interp.figures import fig3_parallel, fig4_series, fig5_functions, series_sweep, square_sweep
from interp.figures.recipes import Departure, Ladder, rung_recipe

TRAINING = dict(optimizer="adam", lr=0.01, lr_decay=0.3, batch_size=500, l1=1e-4, l2=5e-4)
"""§2: "The Adam optimizer ... The learning rate is initially started at 0.01 and reduced by a
factor of 0.3 every 20000 epochs. The batch size is set to 500", "λ1 = 0.0001 and λ2 = 0.0005";
§3.1, §3.2 and App. A train "under the same experimental conditions"."""

PAPER = {
    # §2: "a single hidden layer with 1000 neurons", "We sweep α ∈ [1, 512]", "total epochs set to
    # 100000", "n_seeds = 16 for each α"
    "square_sweep": (square_sweep, dict(width=1000, steps=100_000, decay_every=20_000, seeds=16), (1.0, 512.0)),
    # §3.1: "a single hidden layer with 1000 neurons", "varying α within the range [1,512]", α = 32 ... 512
    # and β = 0.5, 0.75, 0.85, 0.9, 0.95 over n_seeds = 16
    "fig3_parallel": (fig3_parallel, dict(width=1000, steps=100_000, decay_every=20_000, seeds=16,
                                          betas=(0.5, 0.75, 0.85, 0.9, 0.95)), (1.0, 512.0)),
    # §3.2: "four hidden layers, each consisting of 30 neurons", "α from the range [20, 10240]",
    # "training epochs to 3 × 10^5", otherwise "the same experimental conditions" (decay every 20 000)
    "series_sweep": (series_sweep, dict(widths=(30, 30, 30, 30), steps=300_000, decay_every=20_000), (20.0, 10240.0)),
    # App. A: "[1000], [200, 200], and [150, 150, 150]", "identical settings in [Section 2]"
    "fig5_functions": (fig5_functions, dict(nets=((1000,), (200, 200), (150, 150, 150)), steps=100_000,
                                            decay_every=20_000, seeds=16), (1.0, 512.0)),
}


def _ours(recipe, field):
    value = getattr(recipe, field)
    return len(value) if field == "seeds" else value


def _departed(module, which):
    listed = module.DEPARTURES[which]
    assert all(isinstance(d, Departure) for d in listed)
    return {d.field: d for d in listed}


@pytest.mark.parametrize("name", PAPER)
def test_full_recipes_take_the_papers_stated_values(name):
    module, stated, (lo, hi) = PAPER[name]
    full, departed = module.FULL, _departed(module, "FULL")
    for field, value in stated.items():
        if _ours(full, field) != value:  # only as a listed departure, which states the paper's value and ours
            assert field in departed and departed[field].paper == value, (name, field)
            assert departed[field].ours in (getattr(full, field), _ours(full, field)), (name, field)
    alphas = np.asarray(full.alphas)
    assert alphas.min() == pytest.approx(lo) and alphas.max() == pytest.approx(hi), name
    train = full.train()
    assert {k: getattr(train, k) for k in TRAINING} == TRAINING
    assert (train.steps, train.lr_decay_every) == (stated["steps"], stated["decay_every"])


def test_the_series_network_is_the_papers_at_every_budget():
    assert series_sweep.QUICK.widths == series_sweep.FULL.widths == (30, 30, 30, 30)
    assert fig4_series.QUICK is series_sweep.QUICK and fig4_series.FULL is series_sweep.FULL
    assert np.allclose(series_sweep.FULL.alphas, 20.0 * 2.0 ** np.arange(10))


@pytest.mark.parametrize("name", PAPER)
def test_every_departure_of_a_recipe_is_listed_with_what_runs(name):
    module, stated, (lo, hi) = PAPER[name]
    for which in ("QUICK", "FULL"):
        recipe, departed = getattr(module, which), _departed(module, which)
        fields = {f.name for f in dataclasses.fields(recipe)}
        for d in departed.values():
            assert d.field in fields and d.reason.strip(), d
            assert d.ours in (getattr(recipe, d.field), _ours(recipe, d.field)), d  # the list cannot drift
        for field, value in stated.items():
            if _ours(recipe, field) != value:
                assert field in departed, f"{name}.{which}.{field} departs from the paper's {value} unlisted"
        if not lo <= min(recipe.alphas) <= max(recipe.alphas) <= hi:
            assert "alphas" in departed, f"{name}.{which}: α outside the paper's [{lo:g}, {hi:g}] unlisted"


def test_series_ladder_rungs_keep_the_papers_decay_and_network():
    ladder = series_sweep.LADDER
    for i in range(len(ladder.rungs)):
        r = rung_recipe(series_sweep.QUICK, ladder, i)
        assert r.decay_every == 20_000 and r.widths == (30, 30, 30, 30) and r.steps == ladder.rungs[i]
        assert r.train().lr_at(r.steps - 1) == pytest.approx(0.01 * 0.3 ** ((r.steps - 1) // 20_000))
    assert rung_recipe(series_sweep.QUICK, ladder, len(ladder.rungs) - 1) == dataclasses.replace(
        series_sweep.FULL, seeds=series_sweep.QUICK.seeds)


def test_a_ladder_without_a_fixed_decay_keeps_its_share_and_bad_fixed_fields_are_refused():
    quick = series_sweep.QUICK
    shared = rung_recipe(quick, Ladder("steps", (20_000, 60_000)), 1)
    assert shared.decay_every == 12_000  # 4 000 of 20 000 kept as a share of 60 000
    with pytest.raises(ValueError, match="fixed=.*is not allowed"):
        Ladder("steps", (1, 2), fixed=(("steps", 3),))
    with pytest.raises(ValueError, match="fixed=.*is not allowed: expected fields of Recipe"):
        rung_recipe(quick, Ladder("steps", (1, 2), fixed=(("decay", 3),)), 0)
    with pytest.raises(ValueError, match="reason='' is not allowed"):
        Departure("steps", 1, 2, "")


def test_the_papers_training_conditions_are_the_trainers_defaults():
    config = models.TrainConfig()
    assert {k: getattr(config, k) for k in TRAINING} == TRAINING
    assert (config.steps, config.lr_decay_every) == (100_000, 20_000)


@pytest.mark.parametrize("name", ["fig2_square", "fig3_parallel", "fig5_functions", "emergence_fig1_data",
                                  "emergence_fig1_params"])
def test_recipe_path_ladders_start_at_quick_and_move_every_axis_toward_full(name):
    """Each rung moves the axes the FULL recipe moves, never back: the quick recipe first, and
    at the last rung every moved field (and the decay that keeps its share) at FULL's value."""
    from interp.figures import FIGURES
    from interp.figures.ladder import rung_folder

    module = FIGURES.lookup(name).load()
    ladder, quick, full = module.LADDER, module.QUICK, module.FULL
    assert rung_recipe(quick, ladder, 0) == quick and rung_folder(quick, ladder, 0) == f"{ladder.axis}={quick_slug(quick, ladder)}"
    rungs = [rung_recipe(quick, ladder, i) for i in range(len(ladder.rungs))]
    moved = [ladder.axis, *(f for f, _ in ladder.along)]
    assert len(moved) >= 2                                   # more than one axis: the recipe path
    for field in moved + [f for f in ("decay_every", "decay_epochs") if hasattr(quick, f)]:
        if field in ("optimizer", "nets"):
            continue
        values = [_size(getattr(r, field)) for r in rungs]
        assert values == sorted(values), (field, values)
    top = rungs[-1]
    for field in moved + [f for f in ("decay_every", "decay_epochs") if hasattr(quick, f)]:
        assert getattr(top, field) == getattr(full, field), (field, getattr(top, field), getattr(full, field))
    assert all(len(r.seeds) >= 3 for r in rungs[1:])         # seeds >= 3 per setting above the quick rung
    assert len({rung_folder(quick, ladder, i) for i in range(len(rungs))}) == len(rungs)


def quick_slug(quick, ladder):
    from interp.figures.ladder import _slug
    return _slug(getattr(quick, ladder.axis))


def _size(v):
    return len(v) if isinstance(v, tuple) else v
