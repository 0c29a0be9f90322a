"""Malformed and hostile checkpoint folders: each is refused with a ValueError naming the
file, before any large allocation, and no code in them ever runs."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import models

NET = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))


@pytest.fixture()
def good(tmp_path) -> Path:
    return models.save(NET, tmp_path / "ck", task=models.tasks.Square(), train_config=models.TrainConfig())


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write_config(folder: Path, change) -> None:
    c = _config(folder)
    change(c)
    (folder / "config.json").write_text(json.dumps(c))


def _set(path, value):
    def change(c):
        *head, last = path
        d = c
        for k in head:
            d = d[k]
        d[last] = value
    return change


def _drop(path):
    def change(c):
        *head, last = path
        d = c
        for k in head:
            d = d[k]
        del d[last]
    return change


CONFIG_CASES = {
    "not an object": lambda c: c.clear() or c.update({"x": 1}),
    "model missing": _drop(["model"]),
    "model not an object": _set(["model"], [1, 2]),
    "unknown model type": _set(["model", "type"], "os.system"),
    "callable as type": _set(["model", "type"], "builtins.eval"),
    "config missing": _drop(["model", "config"]),
    "unknown field": _set(["model", "config", "bogus"], 1),
    "width zero": _set(["model", "config", "widths"], [0]),
    "width a string": _set(["model", "config", "widths"], ["4"]),
    "width terabytes": _set(["model", "config", "widths"], [10**12]),
    "d_in negative": _set(["model", "config", "d_in"], -1),
    "activation unknown": _set(["model", "config", "activation"], "__import__('os')"),
    "seed a string": _set(["model", "config", "seed"], "abc"),
    "ensemble of a million members": lambda c: c.update(model={"type": "Ensemble", "config": c["model"]["config"],
                                                                 "seeds": list(range(10**6))}) or None,
    "ensemble seeds not ints": lambda c: c.update(model={"type": "Ensemble", "config": c["model"]["config"],
                                                           "seeds": ["a"]}),
    "shape mismatch with the weights": _set(["model", "config", "widths"], [5]),
    "task unknown": _set(["task"], {"type": "Nope"}),
    "task bad value": _set(["task"], {"type": "Parallel", "beta": 7}),
    "train unknown field": _set(["train", "bogus"], 1),
    "train bad value": _set(["train", "lr"], -1),
    "history not numbers": _set(["history"], {"loss": ["a", "b"]}),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_a_malformed_config_is_refused_naming_the_file(good, case):
    _write_config(good, CONFIG_CASES[case])
    with pytest.raises(ValueError, match="config.json"):
        models.load(good)


def test_a_model_too_large_for_memory_is_refused_with_its_size(good):
    _write_config(good, lambda c: c.update(model={"type": "Ensemble", "config": {**c["model"]["config"],
                                                                               "widths": [10**6]},
                                                  "seeds": list(range(1000))}))
    with pytest.raises(ValueError, match=r"3e\+09 parameters \(11.2 GiB\)"):
        models.load(good)


@pytest.mark.parametrize("text", ["", "{", "nul\x00l", "\xff\xfe", "[1, 2]", "null", "1e999999"])
def test_garbage_config_text_names_the_file(good, text):
    (good / "config.json").write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe"
                                       else b"\xff\xfe")
    with pytest.raises(ValueError, match="config.json"):
        models.load(good)


def test_bad_weights_files_name_the_file(good, tmp_path):
    (good / "weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="weights.safetensors"):
        models.load(good)
    save_file({"layers.0.weight": torch.zeros(4, 1)}, str(good / "weights.safetensors"))  # tensors missing
    with pytest.raises(ValueError, match="weights.safetensors"):
        models.load(good)
    state = {k: v.clone() for k, v in NET.state_dict().items()}
    state["layers.0.weight"][0, 0] = float("nan")
    save_file(state, str(good / "weights.safetensors"))
    with pytest.raises(ValueError, match="finite"):
        models.load(good)
    state = {k: v.double() for k, v in NET.state_dict().items()}
    save_file(state, str(good / "weights.safetensors"))
    with pytest.raises(ValueError, match="dtypes"):
        models.load(good)


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARK}",))


MARK = Path("/tmp/resource_interp_payload_ran")


def test_a_pickle_disguised_as_weights_is_refused_and_never_runs(good):
    MARK.unlink(missing_ok=True)
    (good / "weights.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="weights.safetensors"):
        models.load(good)
    torch.save({"x": Payload()}, good / "weights.safetensors")
    with pytest.raises(ValueError, match="weights.safetensors"):
        models.load(good)
    assert not MARK.exists()


def test_special_files_and_links_out_of_the_folder_are_refused_without_blocking(good, tmp_path):
    """A FIFO would block a reader forever and /dev/zero never ends: the check runs in a child
    process with a time limit, so a hang fails the test instead of stalling the suite."""
    code = textwrap_code(good, tmp_path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["refused"] * 5, done.stdout


def textwrap_code(good: Path, tmp_path: Path) -> str:
    return f"""
import os, shutil
from pathlib import Path
import models
good, tmp = Path({str(good)!r}), Path({str(tmp_path)!r})
def attempt(folder):
    try:
        models.load(folder)
    except ValueError as e:
        assert str(folder) in str(e), e
        print("refused")
def fresh(name):
    d = tmp / name
    shutil.copytree(good, d)
    return d
d = fresh("fifo_config"); (d / "config.json").unlink(); os.mkfifo(d / "config.json"); attempt(d)
d = fresh("fifo_weights"); (d / "weights.safetensors").unlink(); os.mkfifo(d / "weights.safetensors"); attempt(d)
d = fresh("zero"); (d / "config.json").unlink(); (d / "config.json").symlink_to("/dev/zero"); attempt(d)
outside = tmp / "outside.json"; shutil.copy(good / "config.json", outside)
d = fresh("link_out"); (d / "config.json").unlink(); (d / "config.json").symlink_to(outside); attempt(d)
d = fresh("dir"); (d / "weights.safetensors").unlink(); (d / "weights.safetensors").mkdir(); attempt(d)
"""


def test_a_good_folder_still_loads_with_a_link_inside_it(good):
    (good / "weights.real").write_bytes((good / "weights.safetensors").read_bytes())
    (good / "weights.safetensors").unlink()
    (good / "weights.safetensors").symlink_to("weights.real")
    ck = models.load(good)
    assert torch.equal(ck.model(torch.ones(2, 1)), NET(torch.ones(2, 1)))
