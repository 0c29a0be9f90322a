"""Bad command lines: each one is refused with exit status 2 and a message on stderr that
names the option or the file, before any work: nothing is trained, allocated or written,
and no bad input exits 0. Then --restart: a run that diverged can be trained again, on
purpose, in the same folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

import interp.allocation
import interp.figures.reproduce
import interp.experiments.execution
import models
from interp.cli import main
from models.checkpoint import saved_progress

SQUARE = '{"type": "Square"}'
PARALLEL = '{"type": "Parallel", "beta": 0.75}'
UNWRITABLE = "/sys"  # a folder no process, root included, can create files in (on Linux)


def _cannot_write(folder: str) -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return os.path.isdir(folder)
    os.close(fd)
    os.unlink(probe)
    return False


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict[str, str]:
    """Tiny checkpoints and files, made once: the paths a bad command line refers to."""
    root = tmp_path_factory.mktemp("bad_inputs")
    task = models.tasks.Parallel(beta=0.75)
    net = models.MLP(models.MLPConfig(d_in=2, widths=(6,), d_out=2))
    models.train(net, task, models.TrainConfig(steps=5, batch_size=32, eval_size=64, eval_points=2, progress=False,
                                               compile="off"), checkpoint=root / "single")
    ens = models.Ensemble(models.MLPConfig(d_in=2, widths=(4,), d_out=2), seeds=[0, 1])
    models.save(ens, root / "ens", task=task)
    models.save(models.MLP(models.MLPConfig(d_in=2, widths=(4,), d_out=2)), root / "notask")
    weights = (root / "notask" / "weights.safetensors").read_bytes()
    for name, config in (("garbage_ck", "{not json at all"), ("array_ck", "[1, 2, 3]")):
        (root / name).mkdir()
        (root / name / "config.json").write_text(config)
        (root / name / "weights.safetensors").write_bytes(weights)
    (root / "foreign").mkdir()  # a Hugging Face folder: its config.json is not the toolkit's
    (root / "foreign" / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1}))
    (root / "hf_without_weights").mkdir()
    (root / "hf_without_weights" / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1}))
    (root / "junk.gguf").write_text("not a GGUF file")
    (root / "a_dir").mkdir()
    (root / "a_file.txt").write_text("not a folder")
    (root / "garbage_task.json").write_text("type: Square")
    (root / "array_task.json").write_text("[1, 2]")
    (root / "notype_task.json").write_text('{"beta": 0.5}')
    names = ["single", "ens", "notask", "garbage_ck", "array_ck", "foreign", "hf_without_weights", "a_dir",
             "a_file.txt", "garbage_task.json", "array_task.json", "notype_task.json"]
    return {"root": str(root), **{n.replace(".txt", "").replace(".json", ""): str(root / n) for n in names},
            "junk_gguf": str(root / "junk.gguf"), "nothing": str(root / "no_such_thing")}


def _tree(root: str) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``, with a file's size and time of change."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else "folder"
            for p in Path(root).rglob("*")}


A = ["allocate", "{single}"]
T = ["train", "--task", SQUARE, "--widths", "4", "--steps", "3", "--out", "{out}"]
S = ["sweep", "--steps", "3", "--width", "4", "--seeds", "1", "--alphas", "3", "--out", "{out}"]
R = ["reproduce", "appC_allocation", "--out", "{out}"]

# (id, command line, what stderr must name). {name} is a path of the `place` fixture; {out}
# a fresh path that must still not exist afterwards.
CASES = [
    # allocate: where --json goes
    ("allocate json into a missing folder", A + ["--json", "{out}/sub/alloc.json"], "--json="),
    ("allocate json is a folder", A + ["--json", "{a_dir}"], "--json="),
    ("allocate json under a file", A + ["--json", "{a_file}/alloc.json"], "--json="),
    ("allocate json unwritable", A + ["--json", f"{UNWRITABLE}/alloc.json"], "--json="),
    ("allocate json over the checkpoint", A + ["--json", "{single}/config.json"], "--json="),
    ("allocate json empty", A + ["--json", ""], "--json="),
    # allocate: numbers
    ("allocate live-threshold inf", A + ["--live-threshold", "inf"], "--live-threshold=inf"),
    ("allocate live-threshold nan", A + ["--live-threshold", "nan"], "--live-threshold=nan"),
    ("allocate live-threshold negative", A + ["--live-threshold", "-0.001"], "--live-threshold=-0.001"),
    ("allocate fdr one", A + ["--fdr", "1"], "--fdr=1"),
    ("allocate budget zero", A + ["--budget", "0"], "--budget=0"),
    ("allocate budget with ablation", A + ["--method", "ablation", "--budget", "2"], "--budget/--seconds"),
    ("allocate threshold nan", A + ["--threshold", "nan"], "--threshold=nan"),
    ("allocate threshold inf", A + ["--threshold", "inf"], "--threshold=inf"),
    ("allocate threshold negative", A + ["--threshold", "-0.5"], "--threshold=-0.5"),
    ("allocate dominance above 1", A + ["--dominance", "1.5"], "--dominance=1.5"),
    ("allocate dominance negative", A + ["--dominance", "-0.1"], "--dominance=-0.1"),
    ("allocate dominance nan", A + ["--dominance", "nan"], "--dominance=nan"),
    ("allocate n-samples 0", A + ["--n-samples", "0"], "--n-samples=0"),
    ("allocate n-samples negative", A + ["--n-samples", "-5"], "--n-samples=-5"),
    ("allocate batch-size 0", A + ["--batch-size", "0"], "--batch-size=0"),
    ("allocate batch-size negative", A + ["--batch-size", "-2"], "--batch-size=-2"),
    ("allocate batch-tokens 0", A + ["--batch-tokens", "0"], "--batch-tokens=0"),
    ("allocate seed negative", A + ["--seed", "-1"], "--seed=-1"),
    ("allocate seed beyond 64 bits", A + ["--seed", str(2**64)], "--seed="),
    ("allocate member negative", ["allocate", "{ens}", "--member", "-1"], "--member=-1"),
    ("allocate member out of range", ["allocate", "{ens}", "--member", "2"], "--member=2"),
    ("allocate member of a single model", A + ["--member", "0"], "--member=0"),
    ("allocate method unknown", A + ["--method", "bogus"], "--method"),
    ("allocate n-samples not a number", A + ["--n-samples", "many"], "--n-samples"),
    # allocate: the checkpoint
    ("allocate missing checkpoint", ["allocate", "{nothing}"], "{nothing}"),
    ("allocate garbage config.json", ["allocate", "{garbage_ck}"], "{garbage_ck}/config.json"),
    ("allocate config.json an array", ["allocate", "{array_ck}"], "{array_ck}/config.json"),
    ("allocate checkpoint is a file", ["allocate", "{a_file}"], "{a_file}"),
    ("allocate checkpoint without a task", ["allocate", "{notask}"], "--task"),
    ("allocate a gguf that is not one", ["allocate", "{junk_gguf}", "--task", SQUARE], "{junk_gguf}"),
    ("allocate a Hugging Face folder without weights", ["allocate", "{hf_without_weights}", "--task", SQUARE],
     "{hf_without_weights}"),
    # --task
    ("task not json", A + ["--task", "not json"], "--task="),
    ("task an array", A + ["--task", "[1, 2]"], "--task="),
    ("task broken json", A + ["--task", '{"type": "Parallel",'], "--task="),
    ("task without a type", A + ["--task", '{"beta": 0.5}'], "--task="),
    ("task of an unknown type", A + ["--task", '{"type": "Nope"}'], "--task="),
    ("task with a bad value", A + ["--task", '{"type": "Parallel", "beta": 7}'], "--task="),
    ("task file missing", A + ["--task", "{out}/task.json"], "--task="),
    ("task file is a folder", A + ["--task", "{a_dir}"], "{a_dir}"),
    ("task file of garbage", A + ["--task", "{garbage_task}"], "{garbage_task}"),
    ("task file an array", A + ["--task", "{array_task}"], "{array_task}"),
    ("task file without a type", A + ["--task", "{notype_task}"], "{notype_task}"),
    # train
    ("train out is a file", T + ["--out", "{a_file}"], "--out="),
    ("train out under a file", T + ["--out", "{a_file}/ck"], "--out="),
    ("train out unwritable", T + ["--out", f"{UNWRITABLE}/ck"], "--out="),
    ("train out holds a foreign config.json", T + ["--out", "{foreign}"], "{foreign}/config.json"),
    ("train restart over a foreign config.json", T + ["--out", "{foreign}", "--restart"], "{foreign}/config.json"),
    ("train widths 0", T + ["--widths", "0"], "--widths="),
    ("train widths negative", T + ["--widths", "4", "-3"], "--widths="),
    ("train widths too many parameters", T + ["--widths", "100000", "100000", "100000"], "--widths="),
    ("train seeds negative", T + ["--seeds", "-1"], "--seeds="),
    ("train seeds beyond 64 bits", T + ["--seeds", str(2**64)], "--seeds="),
    ("train alpha nan", T + ["--alpha", "nan"], "--alpha=nan"),
    ("train alpha inf", T + ["--alpha", "inf"], "--alpha=inf"),
    ("train alpha 0", T + ["--alpha", "0"], "--alpha=0"),
    ("train alpha negative", T + ["--alpha", "-1"], "--alpha=-1"),
    ("train alpha per seed of too many", T + ["--alpha", "1", "2", "3"], "--alpha="),
    ("train steps negative", T + ["--steps", "-1"], "--steps=-1"),
    ("train lr 0", T + ["--lr", "0"], "--lr=0"),
    ("train lr nan", T + ["--lr", "nan"], "--lr=nan"),
    ("train lr inf", T + ["--lr", "inf"], "--lr=inf"),
    ("train lr negative", T + ["--lr", "-0.1"], "--lr=-0.1"),
    ("train l1 negative", T + ["--l1", "-1"], "--l1=-1"),
    ("train l2 nan", T + ["--l2", "nan"], "--l2=nan"),
    ("train batch-size 0", T + ["--batch-size", "0"], "--batch-size=0"),
    ("train lr-decay-every 0", T + ["--lr-decay-every", "0"], "--lr-decay-every=0"),
    ("train checkpoint-every negative", T + ["--checkpoint-every", "-1"], "--checkpoint-every=-1"),
    ("train activation unknown", T + ["--activation", "bogus"], "--activation='bogus'"),
    ("train device unknown", T + ["--device", "bogus"], "--device='bogus'"),
    ("train task file of garbage", T + ["--task", "{garbage_task}"], "{garbage_task}"),
    ("train task file missing", T + ["--task", "{nothing}.json"], "--task="),
    ("train without a task", ["train", "--out", "{out}"], "--task"),
    ("train task with an unknown field", T + ["--task", '{"type": "Parallel", "bta": 0.5}'], "bta"),
    ("sweep task with an unknown field", S + ["--task", '{"type": "Square", "hihg": 2}'], "hihg"),
    ("train optimizer unknown", T + ["--optimizer", "lbfgs"], "--optimizer"),
    # sweep
    ("sweep out is a file", S + ["--out", "{a_file}"], "--out="),
    ("sweep out under a file", S + ["--out", "{a_file}/sweep"], "--out="),
    ("sweep out unwritable", S + ["--out", f"{UNWRITABLE}/sweep"], "--out="),
    ("sweep width negative", S + ["--width", "-4"], "--width=-4"),
    ("sweep width too many parameters", S + ["--width", "1000000000"], "--width="),
    ("sweep seeds negative", S + ["--seeds", "-2"], "--seeds=-2"),
    ("sweep seeds too many", S + ["--seeds", "100000"], "--seeds=100000"),
    ("sweep too many runs", S + ["--seeds", "300", "--alphas", "300"], "--alphas × --seeds"),
    ("sweep alphas negative", S + ["--alphas", "-1"], "--alphas=-1"),
    ("sweep steps negative", S + ["--steps", "-5"], "--steps=-5"),
    ("sweep group-size negative", S + ["--group-size", "-1"], "--group-size=-1"),
    ("sweep checkpoint-every negative", S + ["--checkpoint-every", "-3"], "--checkpoint-every=-3"),
    ("sweep workers negative", S + ["--workers", "-1"], "--workers=-1"),
    ("sweep task of an unknown type", S + ["--task", '{"type": "Nope"}'], "--task="),
    ("sweep task file of garbage", S + ["--task", "{garbage_task}"], "{garbage_task}"),
    ("sweep device unknown", S + ["--device", "bogus"], "--device='bogus'"),
    ("sweep quick and full", S + ["--quick", "--full"], "--full"),
    # reproduce
    ("reproduce unknown figure", ["reproduce", "no_such_figure", "--out", "{out}"], "no_such_figure"),
    ("reproduce out is a file", R + ["--out", "{a_file}"], "--out="),
    ("reproduce out under a file", R + ["--out", "{a_file}/report"], "--out="),
    ("reproduce out unwritable", R + ["--out", f"{UNWRITABLE}/report"], "--out="),
    ("reproduce group-size 0", R + ["--group-size", "0"], "--group-size=0"),
    ("reproduce checkpoint-every 0", R + ["--checkpoint-every", "0"], "--checkpoint-every=0"),
    ("reproduce workers 0", R + ["--workers", "0"], "--workers=0"),
    ("reproduce device unknown", R + ["--device", "bogus"], "--device='bogus'"),
    # the command itself
    ("no command", [], "COMMAND"),
    ("unknown command", ["allocat", "{single}"], "allocat"),
]


def _fill(text: str, place: dict[str, str], out: str) -> str:
    """``text`` with each ``{name}`` of ``place`` (and ``{out}``) replaced by its path."""
    for name, path in {**place, "out": out}.items():
        text = text.replace("{" + name + "}", path)
    return text


@pytest.fixture()
def no_work(monkeypatch):
    """Training, allocating and reproducing fail the test if a bad command line reaches them."""
    def computed(*args, **kwargs):
        raise AssertionError("a bad command line reached the computation")

    monkeypatch.setattr(models, "train", computed)
    monkeypatch.setattr(interp.allocation, "allocate", computed)
    monkeypatch.setattr(interp.experiments.execution, "execute", computed)
    monkeypatch.setattr(interp.figures.reproduce, "reproduce", computed)


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own refusals
        return e.code


@pytest.mark.parametrize("argv,names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_command_line_is_refused_with_its_name_before_any_work(place, tmp_path, capsys, no_work, argv, names):
    if any(a.startswith(UNWRITABLE + "/") for a in argv) and not _cannot_write(UNWRITABLE):
        pytest.skip(f"{UNWRITABLE} is not an unwritable folder here")
    out = str(tmp_path / "out")
    before = _tree(place["root"])
    t0 = time.perf_counter()
    status = _run([_fill(a, place, out) for a in argv])
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert status == 2, f"exit status {status}; stderr: {err}"
    assert _fill(names, place, out) in err, err
    assert "Traceback" not in err
    assert not Path(out).exists()
    assert not list(tmp_path.iterdir())          # no probe or half-written file is left either
    assert _tree(place["root"]) == before         # nothing written next to the inputs
    assert seconds < 10


ROOT = getattr(os, "geteuid", lambda: -1)() == 0


@pytest.mark.skipif(ROOT, reason="root writes into any folder its permission bits forbid")
def test_a_folder_without_write_permission_is_refused(tmp_path, capsys, no_work):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        assert main(["sweep", "--out", str(locked / "sweep")]) == 2
        assert "--out=" in capsys.readouterr().err and not (locked / "sweep").exists()
    finally:
        locked.chmod(0o755)


def test_the_bad_command_lines_are_many_and_distinct():
    lines = [tuple(c[1]) for c in CASES]
    assert len(set(lines)) == len(lines) >= 45
    assert len({c[0] for c in CASES}) == len(CASES)


def test_a_bad_command_line_exits_2_as_a_process(place):
    """The installed entry point's code path: the exit status a shell sees, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "interp.cli", "allocate", place["single"], "--live-threshold", "inf"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "--live-threshold=inf is not allowed" in proc.stderr and "Traceback" not in proc.stderr


# -- --restart ------------------------------------------------------------------------------
TRAIN = ["train", "--task", SQUARE, "--widths", "4", "--checkpoint-every", "5"]


def test_train_restart_after_a_diverged_run(tmp_path, capsys):
    out = tmp_path / "ck"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*TRAIN, "--steps", "20", "--lr", "1e30", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "smaller lr" in err and "--restart" in err and "Traceback" not in err

    assert main([*TRAIN, "--steps", "20", "--lr", "0.001", "--out", str(out)]) == 2  # another config: refused
    err = capsys.readouterr().err
    assert f"--out={str(out)!r} is not allowed" in err and "--restart" in err
    assert saved_progress(out)["step"] < 20  # the diverged run is kept as it was

    assert main([*TRAIN, "--steps", "20", "--lr", "0.001", "--out", str(out), "--restart"]) == 0
    assert "restart: discarded" in capsys.readouterr().out
    ck = models.load(out)
    assert ck.train_config.lr == 0.001 and saved_progress(out)["step"] == 20
    assert (out / "notes.txt").read_text() == "mine"  # not the toolkit's: kept

    assert main([*TRAIN, "--steps", "30", "--lr", "0.001", "--out", str(out)]) == 0  # same config: resumed
    progress = saved_progress(out)
    assert progress["step"] == 30 and 20 in progress["history"]["step"]


def test_train_restart_on_a_new_folder_just_trains(tmp_path, capsys):
    assert main([*TRAIN, "--steps", "5", "--out", str(tmp_path / "new"), "--restart"]) == 0
    assert saved_progress(tmp_path / "new")["step"] == 5


def test_sweep_restart_discards_its_own_runs_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "sweep"
    small = ["sweep", "--width", "4", "--seeds", "1", "--alphas", "3", "--checkpoint-every", "5", "--out", str(out)]
    assert main([*small, "--steps", "5"]) == 0
    first = set(pd.read_csv(out / "sweep.csv").key)
    (out / "notes.txt").write_text("mine")
    (out / "data").mkdir()
    (out / "0123456789abcdef").mkdir()  # named like a run, but not one (no run.json)
    assert main([*small, "--steps", "6"]) == 0  # without --restart the old runs stay beside the new
    second = set(pd.read_csv(out / "sweep.csv").key)
    assert first.isdisjoint(second) and all((out / k).is_dir() for k in first | second)

    assert main([*small, "--steps", "6", "--restart"]) == 0
    assert "restart: discarded" in capsys.readouterr().out
    table = pd.read_csv(out / "sweep.csv")
    assert set(table.key) == second and set(table.status) == {"done"}
    assert not any((out / k).exists() for k in first)  # the older config's runs are gone
    assert (out / "notes.txt").read_text() == "mine" and (out / "data").is_dir()
    assert (out / "0123456789abcdef").is_dir() and json.loads((out / "sweep.json").read_text())["steps"] == 6
