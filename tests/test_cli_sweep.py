"""``interp sweep``: runs as folders, a table, resume, overrides of 0, allocate on a run."""
import json

import pandas as pd
import pytest

from interp.cli import main

SMALL = ["--steps", "150", "--width", "8", "--seeds", "2", "--alphas", "3", "--checkpoint-every", "50"]


def test_sweep_writes_runs_that_allocate_reads_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", *SMALL, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 runs in 1 groups" in text and "[1, 512]" in text and "slope of log loss" in text
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6 and set(table.status) == {"done"}
    assert json.loads((out / "sweep.json").read_text())["live"] == table.live.to_numpy().reshape(3, 2).tolist()
    stamp = (out / table.key[0] / "result.json").stat().st_mtime_ns
    assert main(["sweep", *SMALL, "--out", str(out)]) == 0  # a rerun trains nothing
    assert (out / table.key[0] / "result.json").stat().st_mtime_ns == stamp
    capsys.readouterr()
    assert main(["allocate", str(out / table.key.iloc[-1])]) == 0  # a run folder carries its task
    assert "hidden.0" in capsys.readouterr().out


@pytest.mark.parametrize("flag,value", [("--seeds", "0"), ("--width", "0"), ("--alphas", "0"), ("--steps", "-1"),
                                        ("--group-size", "0"), ("--checkpoint-every", "0"), ("--workers", "0")])
def test_overrides_of_zero_are_refused_not_ignored(tmp_path, capsys, flag, value):
    assert main(["sweep", "--out", str(tmp_path), flag, value]) == 2
    err = capsys.readouterr().err
    assert f"{flag}={value} is not allowed" in err
    assert not any(tmp_path.iterdir())  # refused before any work


def test_steps_zero_is_respected(tmp_path, capsys):
    assert main(["sweep", "--steps", "0", "--width", "8", "--seeds", "1", "--alphas", "3", "--out", str(tmp_path)]) == 0
    assert set(pd.read_csv(tmp_path / "sweep.csv")["train.steps"]) == {0}


@pytest.mark.parametrize("command", [["sweep"], ["reproduce", "appC_allocation"],
                                     ["train", "--task", '{"type": "Square"}', "--steps", "1"]])
def test_an_unusable_device_is_refused_before_any_work(tmp_path, capsys, command):
    assert main([*command, "--out", str(tmp_path / "o"), "--device", "bogus"]) == 2
    assert "--device='bogus' is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
