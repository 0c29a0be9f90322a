"""Checkpoints: a folder with ``config.json`` (model, task, training config, library
version) beside ``weights.safetensors``. Loading never unpickles.

A training run saved with ``train(..., checkpoint=FOLDER)`` also keeps
``train_state.safetensors``: one file holding everything it resumes from (weights,
optimizer moments, random-generator states, step, history, failed members), replaced
whole at each save.

>>> import tempfile, torch, models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
>>> folder = models.save(net, tempfile.mkdtemp(), task=models.tasks.Square())
>>> ckpt = models.load(folder)
>>> torch.equal(ckpt.model(torch.ones(3, 1)), net(torch.ones(3, 1))), ckpt.task
(True, Square(low=-1.0, high=1.0))
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from .atomic import write_text, writing
from .mlp import MLP, Ensemble, MLPConfig
from .tasks import Task
from .train import TrainConfig
from .transformer import ParityTransformer, ParityTransformerConfig
from .validate import check

CONFIG, WEIGHTS = "config.json", "weights.safetensors"
STATE = "train_state.safetensors"
PICKLES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, and the task, training config and history saved with it
    (each None when absent)."""

    model: nn.Module
    task: Task | None = None
    train_config: TrainConfig | None = None
    history: dict[str, np.ndarray] | None = None
    meta: dict = field(default_factory=dict)


def model_config(model: nn.Module) -> dict:
    check(hasattr(model, "to_config"), "model", type(model).__name__,
          "a zoo model (MLP, Ensemble, ParityTransformer); save other modules with safetensors directly")
    return model.to_config()


def build_model(config: dict) -> nn.Module:
    """A freshly initialised model from ``model.to_config()``'s dictionary."""
    kind = config.get("type")
    if kind == "MLP":
        return MLP(MLPConfig(**config["config"]))
    if kind == "Ensemble":
        return Ensemble(MLPConfig(**config["config"]), seeds=config["seeds"])
    if kind == "ParityTransformer":
        return ParityTransformer(ParityTransformerConfig(**config["config"]))
    raise ValueError(f"model type={kind!r} is not allowed: expected 'MLP', 'Ensemble' or 'ParityTransformer'")


def _train_config_dict(config: TrainConfig) -> dict:
    d = asdict(config)
    d["alpha"] = list(d["alpha"]) if isinstance(d["alpha"], tuple) else d["alpha"]
    return d


def _train_config(d: dict) -> TrainConfig:
    d = dict(d)
    if isinstance(d.get("alpha"), list):
        d["alpha"] = tuple(d["alpha"])
    return TrainConfig(**d)


def save(model: nn.Module, folder: str | Path, task: Task | None = None, train_config: TrainConfig | None = None,
         history: dict | None = None) -> Path:
    """Write ``model`` (and optionally its task, training config and history) to ``folder``.
    Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "library": "resource-interp",
        "version": __version__,
        "model": model_config(model),
        "task": task.to_config() if task is not None else None,
        "train": _train_config_dict(train_config) if train_config is not None else None,
    }
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with writing(folder / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    if history is not None:
        config["history"] = {k: np.asarray(v).tolist() for k, v in history.items()}
    _write_json(folder / CONFIG, config)
    return folder


def load(folder: str | Path) -> Checkpoint:
    """Read a checkpoint folder written by ``save`` (or by ``train(..., checkpoint=...)``).
    Refuses pickle files: only JSON and safetensors are read."""
    folder = Path(folder)
    check(folder.suffix.lower() not in PICKLES, "folder", str(folder),
          "a checkpoint folder with config.json and weights.safetensors; pickle files are never loaded")
    check(folder.is_dir(), "folder", str(folder), "an existing checkpoint folder")
    if not (folder / WEIGHTS).exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLES)
        hint = f"; found {pickles}, which are pickle files and are never loaded (unpickling runs code)" if pickles else ""
        raise ValueError(f"folder={str(folder)!r} is not allowed: expected a checkpoint folder with "
                         f"{WEIGHTS}{hint}")
    check((folder / CONFIG).exists(), "folder", str(folder), f"a checkpoint folder with {CONFIG}")
    config = json.loads((folder / CONFIG).read_text())
    model = build_model(config["model"])
    model.load_state_dict(load_file(str(folder / WEIGHTS)))
    model.eval()
    task = Task.from_config(config["task"]) if config.get("task") else None
    train_config = _train_config(config["train"]) if config.get("train") else None
    history = config.get("history")
    if history is None and (folder / STATE).exists():
        history = saved_progress(folder)["history"]
    history = {k: np.asarray(v) for k, v in history.items()} if history else None
    meta = {k: config[k] for k in ("library", "version")}
    return Checkpoint(model, task, train_config, history, meta)


def _write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1))


# -- training state (used by models.train) ---------------------------------------------
_RESUME_FREE = ("steps", "progress", "checkpoint_every")


def _identity(model, task, config) -> list:
    """What a resumed run must share with the saved one: model, task and training config
    (less the fields that may change between calls), as plain JSON values."""
    mine = {k: v for k, v in _train_config_dict(config).items() if k not in _RESUME_FREE}
    return json.loads(json.dumps([model_config(model), task.to_config(), mine]))


def save_train_state(folder, model, task, config, opt, generators, step, history, failed) -> None:
    """Save a resumable training state as ONE file, ``train_state.safetensors``: weights,
    optimizer moments and random-generator states as tensors, step, history and failed
    members in its metadata. It is written beside and then renamed over the previous one,
    so a process killed at any moment leaves the old complete state or the new one, never
    a mix. ``config.json`` and ``weights.safetensors`` are refreshed too, for ``load``."""
    folder = Path(folder)
    save(model, folder, task=task, train_config=config)
    opt_state = opt.state_dict()
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"opt.{i}.{k}": v.detach().contiguous() for i, s in opt_state["state"].items()
                    for k, v in s.items() if isinstance(v, torch.Tensor)})
    tensors.update({f"rng.{i}": g.get_state() for i, g in enumerate(generators)})
    meta = {"step": step, "history": history, "failed": {str(k): v for k, v in failed.items()},
            "param_groups": opt_state["param_groups"], "identity": _identity(model, task, config)}
    with writing(folder / STATE) as tmp:
        save_file({k: v.cpu() for k, v in tensors.items()}, str(tmp), metadata={"state": json.dumps(meta)})


def saved_progress(folder: str | Path) -> dict | None:
    """``{"step", "history", "failed"}`` of the training state saved in ``folder``, or None
    when it holds none. Reads the metadata only, not the tensors."""
    path = Path(folder) / STATE
    if not path.exists():
        return None
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["state"])
    return {k: meta[k] for k in ("step", "history", "failed")}


def load_train_state(folder, model, task, config, opt, generators):
    """Restore a saved run into ``model``, ``opt`` and ``generators`` from its one state file;
    returns ``(step, history, failed)``, or None when ``folder`` holds no run."""
    folder = Path(folder)
    if not (folder / STATE).exists():
        check(not (folder / "train_state.json").exists(), "checkpoint", str(folder),
              "a training state written by this version (one train_state.safetensors); this folder holds an "
              "older two-file state: train into a new folder")
        return None
    with safe_open(str(folder / STATE), framework="pt") as f:
        meta = json.loads(f.metadata()["state"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    check(meta["identity"] == _identity(model, task, config), "checkpoint", str(folder),
          "a folder holding a run of the same model, task and training config (or an empty folder)")
    device = next(model.parameters()).device
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state = {"state": {}, "param_groups": meta["param_groups"]}
    for key, v in tensors.items():
        kind, i, *name = key.split(".")
        if kind == "opt":
            opt_state["state"].setdefault(int(i), {})[".".join(name)] = v.to(device)
        elif kind == "rng":
            generators[int(i)].set_state(v)
    opt.load_state_dict(opt_state)
    return meta["step"], meta["history"], {int(k): v for k, v in meta["failed"].items()}
