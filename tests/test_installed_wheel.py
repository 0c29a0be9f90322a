"""The built wheel, installed on its own, runs: every module imports and the ``interp`` command works.

The wheel is built from a copy of the checkout (so the shared checkout gets no ``build/`` or
``*.egg-info`` written into it, and no stale ``build/lib`` leaks into the wheel) and installed
with ``--no-deps`` into a new venv outside the checkout. The third-party dependencies come from
the running interpreter's site-packages, listed as a plain path in a ``.pth`` file of the new venv:
a path line does not run the ``.pth`` files of that directory, so the editable install of this
checkout stays invisible, and every module must resolve to the new venv's copy.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("interp", "models", "probes")
TASK = '{"type": "Parallel", "beta": 0.75}'

IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
from pathlib import Path

venv = Path(sys.argv[1]).resolve()

def fail(name):
    raise ImportError(f"walk_packages could not import {name}")

names = []
for top in sys.argv[2:]:
    names.append(top)
    pkg = importlib.import_module(top)
    names += [info.name for info in pkgutil.walk_packages(pkg.__path__, top + ".", onerror=fail)]
for name in names:
    where = Path(importlib.import_module(name).__file__).resolve()
    assert venv in where.parents, f"{name} imported from {where}, not from {venv}"
print(json.dumps(names))
"""


def _version(dist: str) -> tuple[int, ...]:
    """The leading numbers of an installed distribution's version; () when it is not installed."""
    try:
        release = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ()
    return tuple(int(x) for x in re.findall(r"\d+", release)[:2])


def _source_modules(src: Path) -> set[str]:
    """The modules of the three packages in a source tree, as dotted names."""
    out = set()
    for top in PACKAGES:
        for f in (src / top).rglob("*.py"):
            parts = f.relative_to(src).with_suffix("").parts
            out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_the_wheel_installed_in_a_fresh_venv_runs_the_interp_command(tmp_path):
    assert ROOT not in tmp_path.resolve().parents, "the test's folders must lie outside the checkout"
    # --no-build-isolation builds with this interpreter's setuptools (Python 3.12+ venvs lack it)
    if _version("setuptools") < (61,):
        pytest.skip("building the wheel needs setuptools>=61 in this interpreter")

    # 1. Build the wheel from a copy of the checkout (tests/, examples/, benchmarks/ included, so
    # that their absence from the wheel is checked).
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs", ".whl"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(src)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "interp/cli/__init__.py" in names and "interp/figures/__init__.py" in names
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"tests", "examples", "benchmarks", "docs"}, sorted(tops)
    assert {t for t in tops if not t.endswith(".dist-info")} == set(PACKAGES), sorted(tops)
    shipped = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    expected = _source_modules(src)
    assert shipped == expected, (sorted(expected - shipped), sorted(shipped - expected))

    # 2. A new venv outside the checkout, the wheel installed into it (before the .pth exists, so
    # pip sees an empty environment). pip >= 22.3 installs into it from here (--python), which
    # spares the venv its own pip; an older one needs the venv's.
    venv = tmp_path / "venv"
    py = venv / "bin" / "python"
    outer_pip = _version("pip") >= (22, 3)
    subprocess.run([sys.executable, "-m", "venv", *(["--without-pip"] if outer_pip else []), str(venv)], check=True)
    installer = [sys.executable, "-m", "pip", "--python", str(py)] if outer_pip else [str(py), "-m", "pip"]
    subprocess.run([*installer, "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, cwd=tmp_path)
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    here = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (purelib / "_outer_site_packages.pth").write_text("".join(f"{p}\n" for p in here))

    # 3. Run from an empty folder, in a clean environment (no PYTHONPATH, no user site).
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.defpath}", "HOME": os.environ.get("HOME", str(tmp_path)),
           "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1"}  # tiny models on shared cores
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    interp = shutil.which("interp", path=env["PATH"])
    assert interp == str(venv / "bin" / "interp"), interp

    procs = []

    def start(*cmd):
        procs.append(subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
        return procs[-1]

    def finish(proc):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{proc.args} exited with {proc.returncode}:\n{out}\n{err}"
        return out

    try:
        # training runs alongside the quick checks
        ck = work / "ck"
        train = start(interp, "train", "--task", TASK, "--widths", "8", "--steps", "20", "--batch-size", "64",
                      "--checkpoint-every", "0", "--out", str(ck))
        helps = [start(interp, "--help"), start(interp, "reproduce", "--help")]
        imports = start(str(py), "-c", IMPORT_ALL, str(venv), *PACKAGES)

        top_help, reproduce_help = (finish(p) for p in helps)
        for command in ("allocate", "sweep", "train", "reproduce"):
            assert command in top_help
        assert reproduce_help.startswith("usage: interp reproduce") and "--quick" in reproduce_help

        imported = json.loads(finish(imports))
        assert set(imported) == expected, sorted(expected ^ set(imported))

        assert f"wrote {ck}" in finish(train)
        assert (ck / "config.json").is_file() and (ck / "weights.safetensors").is_file()
        table = finish(start(interp, "allocate", str(ck), "--n-samples", "256", "--no-progress"))
        assert "hidden.0" in table and "x1^2" in table and "x2^2" in table and "method=weights" in table
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
