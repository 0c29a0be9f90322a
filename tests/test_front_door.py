"""What a newcomer meets first: ``interp.allocate`` on a loaded checkpoint, a short ``repr``
of its result, and the benchmark and example scripts importing what they name."""
import ast
import importlib
import runpy
from pathlib import Path

import pytest

import interp
import models

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "examples").glob("*.py"))


def test_allocate_takes_a_checkpoint_and_its_saved_task(tmp_path):
    task = models.tasks.Parallel(beta=0.75)
    net = models.MLP(models.MLPConfig(d_in=2, widths=(8,), d_out=2))
    models.save(net, tmp_path / "ck", task=task)
    ck = models.load(tmp_path / "ck")
    alloc = interp.allocate(ck, n_samples=256, progress=False)
    same = interp.allocate(net, task, n_samples=256, progress=False)
    assert alloc.counts() == same.counts() and alloc.method == same.method == "weights"
    models.save(net, tmp_path / "bare")
    with pytest.raises(ValueError, match="task=None is not allowed: expected a Task"):
        interp.allocate(models.load(tmp_path / "bare"), progress=False)
    with pytest.raises(ValueError, match="model='str' is not allowed"):
        interp.allocate("a folder", task)
    # a result prints in a few lines, its table on str()
    text = repr(alloc)
    assert text.startswith("Allocation(method='weights'") and len(text.splitlines()) <= 3 and "x1^2" in text
    assert "site" in str(alloc)


@pytest.mark.parametrize("path", SCRIPTS, ids=[f"{p.parent.name}/{p.name}" for p in SCRIPTS])
def test_scripts_import_and_every_name_they_import_exists(path):
    """Each benchmark and example loads without running (``__name__`` is not ``__main__``),
    and every ``from X import Y`` of the toolkit in it, inside functions too, names what X has."""
    runpy.run_path(str(path), run_name="imported")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("interp", "models",
                                                                                              "probes"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                sub = hasattr(module, "__path__") and importlib.util.find_spec(f"{node.module}.{alias.name}")
                assert hasattr(module, alias.name) or sub, \
                    f"{path.name}: from {node.module} import {alias.name}"
