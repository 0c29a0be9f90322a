"""The emergence figures' recipes: frozen dataclasses whose FULL instance is the authors'
settings (SPEC B, "as the authors' own code runs it") and whose QUICK instance changes only
the knobs its module's docstring names (tests/test_figures_at_toy_size.py runs each at toy size)."""
from __future__ import annotations

import dataclasses

import pytest

from interp import figures

AUTHORS = {
    "emergence_fig1_time": dict(width=1000, init=0.01, lr=0.02, batch=4000, steps=30_000, repeats=10),
    "emergence_fig1_data": dict(width=1000, init=0.001, lr=0.05, decay_epochs=10_000, epochs=100_000, batch=2000),
    "emergence_fig1_params": dict(widths=tuple(range(1, 21)), init=0.05, lr=0.05, weight_decay=5e-4,
                                  batch=4000),
    "emergence_fig4_transformer": dict(d_model=512, n_heads=4, n_bits=32, lr=5e-5, batch=5000, repeats=5,
                                       thresholds=(0.05, 0.25, 0.45, 0.65), variant="authors"),
}


@pytest.mark.parametrize("name", sorted(AUTHORS))
def test_full_recipe_is_the_authors_and_frozen(name):
    module = figures.load(name)
    assert dataclasses.is_dataclass(module.FULL) and module.FULL == module.Recipe()
    for key, value in AUTHORS[name].items():
        assert getattr(module.FULL, key) == value, key
    assert module.FULL.random_positions
    with pytest.raises(dataclasses.FrozenInstanceError):
        module.QUICK.steps = 1 if hasattr(module.QUICK, "steps") else None


@pytest.mark.parametrize("name", sorted(AUTHORS))
def test_quick_recipe_names_every_knob_it_changes(name):
    """Every field where QUICK differs from FULL is named in the script's docstring."""
    module = figures.load(name)
    changed = [f.name for f in dataclasses.fields(module.Recipe)
               if getattr(module.QUICK, f.name) != getattr(module.FULL, f.name)]
    doc = module.__doc__
    for field in changed:
        assert f"{field} " in doc, (name, field)


def test_fig1_data_schedule_follows_the_authors_batches():
    module = figures.load("emergence_fig1_data")
    r = module.FULL
    assert module.schedule(r, 1500) == dict(batch=1500, steps=100_000, lr=0.025, lr_decay=0.5, decay_every=10_000)
    s = module.schedule(r, 35_000)                      # 17 batches of 2058 per epoch
    assert s["batch"] == 2058 and s["steps"] == 1_700_000 and s["decay_every"] == 170_000


@pytest.mark.parametrize("name, changes", [
    ("emergence_fig1_data", dict(sizes=(100, 300, 1000), width=16, seeds=(0, 1), epochs=20, decay_epochs=10,
                                 batch=100)),
    ("emergence_fig1_params", dict(widths=[2, 4, 8], seeds=[0, 1], steps=20, batch=256))])
def test_calibration_panels_redraw_from_their_saved_strengths(tmp_path, monkeypatch, name, changes):
    """A panel drawn again from the same recipe (``interp reproduce --redo``) reads its trained
    strengths back instead of training; another recipe trains."""
    import json

    from interp.figures import parity_runs

    module = figures.load(name)
    recipe = dataclasses.replace(module.QUICK, **changes)
    first = module.run(tmp_path, recipe)
    saved = json.loads((tmp_path / f"{name}.json").read_text())["numbers"]

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(parity_runs, "train_final_strength", no_training)
    again = module.run(tmp_path, recipe)
    redrawn = json.loads((tmp_path / f"{name}.json").read_text())["numbers"]
    assert again["claims"] == first["claims"]
    assert redrawn["strength"] == saved["strength"] and redrawn["train_seconds"] == saved["train_seconds"] > 0
    with pytest.raises(AssertionError, match="trained again"):
        module.run(tmp_path, dataclasses.replace(recipe, seeds=(0, 1, 2)))
