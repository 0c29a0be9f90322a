"""The emergence figures' recipes: frozen dataclasses whose FULL instance is the authors'
settings (SPEC B, "as the authors' own code runs it") and whose QUICK instance changes only
the knobs its script's docstring names; each training figure runs whole at toy size."""
from __future__ import annotations

import dataclasses
import json

import pytest

from interp import reproduce as rp

TINY = {
    "emergence_fig1_time": dict(width=16, steps=60, repeats=2, eval_points=10, batch=256),
    "emergence_fig1_data": dict(sizes=(100, 300, 1000), width=16, seeds=(0, 1), epochs=20, decay_epochs=10),
    "emergence_fig1_params": dict(widths=(2, 4, 8), seeds=(0, 1), steps=40, batch=256),
    "emergence_fig4_transformer": dict(d_model=16, n_bits=15, steps=40, batch=64, repeats=2, eval_points=8,
                                       eval_size=500),
}
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
    module = rp.load_example(name)
    assert dataclasses.is_dataclass(module.FULL) and module.FULL == module.Recipe()
    for key, value in AUTHORS[name].items():
        assert getattr(module.FULL, key) == value, key
    assert module.FULL.random_positions
    with pytest.raises(dataclasses.FrozenInstanceError):
        module.QUICK.steps = 1 if hasattr(module.QUICK, "steps") else None


@pytest.mark.parametrize("name", sorted(AUTHORS))
def test_quick_recipe_names_every_knob_it_changes(name):
    """Every field where QUICK differs from FULL is named in the script's docstring."""
    module = rp.load_example(name)
    changed = [f.name for f in dataclasses.fields(module.Recipe)
               if getattr(module.QUICK, f.name) != getattr(module.FULL, f.name)]
    doc = module.__doc__
    for field in changed:
        assert f"{field} " in doc, (name, field)


def test_fig1_data_schedule_follows_the_authors_batches():
    module = rp.load_example("emergence_fig1_data")
    r = module.FULL
    assert module.schedule(r, 1500) == dict(batch=1500, steps=100_000, lr=0.025, lr_decay=0.5, decay_every=10_000)
    s = module.schedule(r, 35_000)                      # 17 batches of 2058 per epoch
    assert s["batch"] == 2058 and s["steps"] == 1_700_000 and s["decay_every"] == 170_000


@pytest.mark.parametrize("name", sorted(TINY))
def test_training_figure_runs_whole_at_toy_size(tmp_path, monkeypatch, name):
    module = rp.load_example(name)
    monkeypatch.setattr(module, "QUICK", dataclasses.replace(module.QUICK, **TINY[name]))
    res = module.run(tmp_path, quick=True)
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["figure"] == name and saved["claims"] == json.loads(json.dumps(res["claims"]))
    assert saved["numbers"]["recipe"] == json.loads(json.dumps(dataclasses.asdict(module.QUICK)))
    for c in res["claims"]:
        assert set(c) == {"claim", "paper", "ours", "interval", "agree", "note"}, c
        assert c["agree"] in (True, False, None)
