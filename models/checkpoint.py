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
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from .atomic import write_text, writing
from .config import TrainConfig
from .jsonable import jsonable
from .mlp import MLP, Ensemble, MLPConfig
from .registry import Registry
from .tasks import Task
from .transformer import ParityTransformer, ParityTransformerConfig
from .validate import MAX_MEMBERS, MAX_PARAMETERS, check, make_folder

CONFIG, WEIGHTS = "config.json", "weights.safetensors"
TASK_DATA = "task_data.safetensors"
"""The data of a task that holds data (``TokenTask``, ``DataTask``), beside its config."""
STATE = "train_state.safetensors"
FILES = (CONFIG, WEIGHTS, TASK_DATA, STATE)
"""Every file ``save`` and a training run write into a checkpoint folder."""
PICKLES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
MAX_CONFIG_BYTES = 256 * 2**20
"""A config.json larger than this is refused before it is read (histories make it large)."""


@dataclass(frozen=True)
class ModelType:
    """A zoo model type as a checkpoint writes and reads it: ``model`` the class, ``config``
    the config class its ``to_config()["config"]`` holds the fields of; ``ensemble``: its
    JSON also carries ``seeds`` (one per member) and it is built as ``model(config, seeds=...)``."""

    model: type
    config: type
    ensemble: bool = False


MODEL_TYPES = Registry("type", hint="an nn.Sequential of standard layers is saved as type 'Sequential'")
"""The zoo's model types by the name ``to_config()`` writes: name -> ``ModelType``. What
``build_model`` (and so ``load``) builds, besides an ``nn.Sequential`` of ``SEQUENTIAL_LAYERS``."""
MODEL_TYPES.add("MLP", ModelType(MLP, MLPConfig), reserve=True)
MODEL_TYPES.add("Ensemble", ModelType(Ensemble, MLPConfig, ensemble=True), reserve=True)
MODEL_TYPES.add("ParityTransformer", ModelType(ParityTransformer, ParityTransformerConfig), reserve=True)


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
    """The JSON description of a model that ``build_model`` builds again: a zoo model's
    ``to_config()``, or the layers of an ``nn.Sequential`` of standard layers (``SEQUENTIAL_LAYERS``)."""
    if hasattr(model, "to_config"):
        return model.to_config()
    check(isinstance(model, nn.Sequential) and all(type(m) in SEQUENTIAL_LAYERS for m in model), "model",
          _describe(model), f"a zoo model ({', '.join(MODEL_TYPES)}) or an nn.Sequential of "
          f"{sorted(SEQUENTIAL_LAYERS_BY_NAME)}; save other modules' weights with safetensors directly")
    return {"type": "Sequential", "layers": [{"type": type(m).__name__, **SEQUENTIAL_LAYERS[type(m)](m)}
                                             for m in model]}


def _describe(model) -> str:
    if isinstance(model, nn.Sequential):
        return f"Sequential({', '.join(type(m).__name__ for m in model)})"
    return type(model).__name__


SEQUENTIAL_LAYERS = {
    nn.Linear: lambda m: {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None},
    nn.LayerNorm: lambda m: {"normalized_shape": list(m.normalized_shape), "eps": m.eps,
                             "elementwise_affine": m.elementwise_affine, "bias": m.bias is not None},
    nn.GELU: lambda m: {"approximate": m.approximate},
    nn.LeakyReLU: lambda m: {"negative_slope": m.negative_slope},
    nn.Dropout: lambda m: {"p": m.p},
    **{cls: (lambda m: {}) for cls in (nn.ReLU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Softplus, nn.Mish,
                                       nn.ELU, nn.Hardswish, nn.ReLU6, nn.SELU, nn.CELU)},
}
"""Layers an ``nn.Sequential`` of one's own may hold to be saved, each with the arguments that
build it again."""
SEQUENTIAL_LAYERS_BY_NAME = {cls.__name__: cls for cls in SEQUENTIAL_LAYERS}


def _build_sequential(config: dict, source: str) -> nn.Sequential:
    layers = config.get("layers")
    check(isinstance(layers, list) and layers and all(isinstance(l, dict) for l in layers), f"{source}: layers",
          layers, "a non-empty list of layer objects")
    out, n = [], 0
    for i, layer in enumerate(layers):
        kind = layer.get("type")
        check(kind in SEQUENTIAL_LAYERS_BY_NAME, f"{source}: layers[{i}].type", kind,
              f"one of {sorted(SEQUENTIAL_LAYERS_BY_NAME)}")
        args = {k: v for k, v in layer.items() if k != "type"}
        if kind == "Linear":
            ok = all(isinstance(args.get(k), int) and 1 <= args[k] <= MAX_PARAMETERS for k in ("in_features",
                                                                                             "out_features"))
            check(ok, f"{source}: layers[{i}]", layer, "in_features and out_features integers ≥ 1")
            n += args["in_features"] * args["out_features"]
            check(n <= MAX_PARAMETERS, source, f"Sequential of over {n:.3g} parameters",
                  f"at most {MAX_PARAMETERS:.3g} parameters")
        try:
            out.append(SEQUENTIAL_LAYERS_BY_NAME[kind](**args))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: layers[{i}]={layer!r} is not allowed: expected the arguments of "
                             f"nn.{kind} ({e})") from None
    return nn.Sequential(*out)


def build_model(config: dict, source: str = "model config") -> nn.Module:
    """A freshly initialised model from ``model.to_config()``'s dictionary. A malformed one
    (unknown type or fields, bad values, more than ``MAX_PARAMETERS``) raises ``ValueError``
    naming ``source`` before anything is allocated."""
    check(isinstance(config, dict), source, config, "a JSON object with 'type' and 'config'")
    kind = config.get("type")
    if kind == "Sequential":
        return _build_sequential(config, source)
    check(kind in MODEL_TYPES, f"{source}: type", kind, f"one of {sorted([*MODEL_TYPES, 'Sequential'])}")
    model_type = MODEL_TYPES[kind]
    cls, given = model_type.config, config.get("config")
    check(isinstance(given, dict), f"{source}: config", given, f"a JSON object of {cls.__name__} fields")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(given) - known)
    check(not unknown, f"{source}: config", unknown, f"fields of {cls.__name__}: {sorted(known)}")
    if "widths" in given and isinstance(given["widths"], list):
        given = {**given, "widths": tuple(given["widths"])}
    try:
        c = cls(**given)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{source}: {e}") from None
    members = 1
    if model_type.ensemble:
        seeds = config.get("seeds")
        check(isinstance(seeds, list) and 1 <= len(seeds) <= MAX_MEMBERS
              and all(isinstance(x, int) and not isinstance(x, bool) for x in seeds),
              f"{source}: seeds", seeds if not isinstance(seeds, list) or len(seeds) < 10 else f"[{len(seeds)} items]",
              f"a non-empty list of at most {MAX_MEMBERS} integers, one per member")
        members = len(seeds)
    n = members * c.n_parameters  # counted before anything is allocated
    check(n <= MAX_PARAMETERS, source, f"{kind} of {n:.3g} parameters ({4 * n / 2**30:.3g} GiB)",
          f"at most {MAX_PARAMETERS:.3g} parameters")
    if model_type.ensemble:
        return model_type.model(c, seeds=config["seeds"])
    return model_type.model(c)


def _train_config(d: dict) -> TrainConfig:
    check(isinstance(d, dict), "train", d, "a JSON object of TrainConfig fields")
    unknown = sorted(set(d) - {f.name for f in fields(TrainConfig)})
    check(not unknown, "train", unknown, f"fields of TrainConfig: {sorted(f.name for f in fields(TrainConfig))}")
    d = dict(d)
    if isinstance(d.get("alpha"), list):
        d["alpha"] = tuple(d["alpha"])
    return TrainConfig(**d)


def save(model: nn.Module, folder: str | Path, task: Task | None = None, train_config: TrainConfig | None = None,
         history: dict | None = None) -> Path:
    """Write ``model`` (and optionally its task, training config and history) to ``folder``.
    Returns the folder."""
    folder = make_folder("folder", folder)
    config = {
        "library": "resource-interp",
        "version": __version__,
        "model": model_config(model),
        "task": task.to_config() if task is not None else None,
        "train": jsonable(train_config) if train_config is not None else None,
    }
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with writing(folder / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    _save_task_data(folder, task, config["task"])
    if history is not None:
        config["history"] = {k: np.asarray(v).tolist() for k, v in history.items()}
    if getattr(model, "failed", None):
        config["failed"] = {str(k): str(v) for k, v in model.failed.items()}
    _write_json(folder / CONFIG, config)
    return folder


def _save_task_data(folder: Path, task: Task | None, task_config: dict | None) -> None:
    """Write the task's data to ``TASK_DATA`` (skipped when the file already holds the same
    data, as it does at every save of a training run after the first), or remove a stale one."""
    tensors = task.tensors() if task is not None else {}
    path = folder / TASK_DATA
    if not tensors:
        if path.exists():
            path.unlink()
        return
    mark = json.dumps(task_config, sort_keys=True)
    if path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                if (f.metadata() or {}).get("task") == mark:
                    return
        except Exception:  # noqa: BLE001 - an unreadable old file is simply replaced
            pass
    with writing(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"task": mark})


def _load_task(folder: Path, config_path: Path, task_config) -> Task:
    """The task of a checkpoint's config, with its data from ``TASK_DATA`` when the folder has it."""
    tensors = None
    if (folder / TASK_DATA).exists() or (folder / TASK_DATA).is_symlink():
        path = _regular_file(folder, TASK_DATA)
        try:
            tensors = load_file(str(path))
        except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
            raise ValueError(f"{path} is not allowed: expected a safetensors file ({type(e).__name__}: {e})") from None
    try:
        return Task.from_config(task_config, tensors)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{config_path}: task {_short(task_config)} is not allowed: {e}") from None


def _short(value, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _regular_file(folder: Path, name: str, limit: int | None = None) -> Path:
    """``folder/name`` when it is a regular file inside ``folder`` (a link is followed only
    when it stays inside), at most ``limit`` bytes; else ``ValueError`` naming it. Nothing is
    opened before this says yes, so a FIFO or a device never blocks a load."""
    path = folder / name
    try:
        target = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise ValueError(f"{path} is not allowed: expected an existing file {name} in the checkpoint folder") from None
    check(target.parent == folder.resolve(), str(path), f"a link to {target}",
          f"a file inside the checkpoint folder {folder} (links out of it are not followed)")
    st = target.stat()
    check(stat.S_ISREG(st.st_mode), str(path), "not a regular file", "a regular file (not a FIFO, device or folder)")
    if limit is not None:
        check(st.st_size <= limit, str(path), f"{st.st_size} bytes", f"at most {limit} bytes")
    return path


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not allowed: expected JSON ({e})") from None
    check(isinstance(data, dict), str(path), type(data).__name__, "a JSON object")
    return data


def _read_weights(path: Path, model: nn.Module, failed: frozenset[int] = frozenset()) -> dict[str, torch.Tensor]:
    """The tensors of ``path`` after checking, from its header alone, that their names, shapes
    and dtypes are the model's. Values must be finite, except in the rows of ensemble members
    listed as ``failed`` (a member that was never finite keeps what it held)."""
    want = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
    try:
        with safe_open(str(path), framework="pt") as f:
            have = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types for a bad header
        raise ValueError(f"{path} is not allowed: expected a safetensors file ({type(e).__name__}: {e})") from None
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    check(not missing and not extra, str(path), f"missing {missing[:5]}, unexpected {extra[:5]}",
          "the tensors of the model config.json describes")
    wrong = [k for k in want if have[k] != want[k][0]]
    check(not wrong, str(path), {k: have[k] for k in wrong[:5]},
          f"shapes {({k: want[k][0] for k in wrong[:5]})} as config.json describes")
    tensors = load_file(str(path))
    keep = torch.ones(getattr(model, "n_members", 0) or 0, dtype=torch.bool)
    keep[sorted(failed)] = False

    def finite(v: torch.Tensor) -> bool:
        return bool(torch.isfinite(v[keep] if failed and v.dim() and v.shape[0] == len(keep) else v).all())

    bad = [k for k, v in tensors.items() if v.dtype != want[k][1] or not finite(v)]
    check(not bad, str(path), bad[:5], "finite tensors of the model's dtypes")
    return tensors


def load(folder: str | Path) -> Checkpoint:
    """Read a checkpoint folder written by ``save`` (or by ``train(..., checkpoint=...)``).
    Refuses pickle files: only JSON and safetensors are read, from regular files inside the
    folder. A malformed folder raises ``ValueError`` naming the file, before any large
    allocation."""
    folder = Path(folder)
    check(folder.suffix.lower() not in PICKLES, "folder", str(folder),
          "a checkpoint folder with config.json and weights.safetensors; pickle files are never loaded")
    check(folder.is_dir(), "folder", str(folder), "an existing checkpoint folder")
    if not (folder / WEIGHTS).exists() and not (folder / WEIGHTS).is_symlink():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLES)
        hint = f"; found {pickles}, which are pickle files and are never loaded (unpickling runs code)" if pickles else ""
        raise ValueError(f"folder={str(folder)!r} is not allowed: expected a checkpoint folder with "
                         f"{WEIGHTS}{hint}")
    config_path = _regular_file(folder, CONFIG, MAX_CONFIG_BYTES)
    weights_path = _regular_file(folder, WEIGHTS)
    config = _read_json(config_path)
    model = build_model(config.get("model"), f"{config_path}: model")
    _restore_failed(model, config.get("failed"), f"{config_path}: failed")
    model.load_state_dict(_read_weights(weights_path, model, frozenset(getattr(model, "failed", {}))))
    model.eval()
    task = train_config = None
    if config.get("task"):
        task = _load_task(folder, config_path, config["task"])
    if config.get("train"):
        try:
            train_config = _train_config(config["train"])
        except (TypeError, ValueError) as e:
            raise ValueError(f"{config_path}: train {config['train']!r} is not allowed: {e}") from None
    history = config.get("history")
    if history is None and (folder / STATE).exists():
        history = saved_progress(folder)["history"]
    if history:
        check(isinstance(history, dict), f"{config_path}: history", type(history).__name__, "a JSON object")
        try:
            history = {k: np.asarray(v) for k, v in history.items()}
        except ValueError as e:
            raise ValueError(f"{config_path}: history is not allowed: expected lists of numbers ({e})") from None
        bad = [k for k, v in history.items() if v.dtype.kind not in "biuf"]
        check(not bad, f"{config_path}: history", bad, "lists of numbers under each key")
    else:
        history = None
    meta = {k: config.get(k) for k in ("library", "version")}
    return Checkpoint(model, task, train_config, history, meta)


def _restore_failed(model: nn.Module, failed, source: str) -> None:
    """Set ``model.failed`` (ensemble member -> what went wrong) from a checkpoint's record."""
    if not failed:
        return
    members = getattr(model, "n_members", None)
    ok = isinstance(failed, dict) and members is not None and all(
        isinstance(k, str) and k.isdigit() and int(k) < members and isinstance(v, str) for k, v in failed.items())
    check(ok, source, failed, "an object of ensemble member index -> what went wrong (Ensembles only)")
    model.failed = {int(k): v for k, v in failed.items()}


def _write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1))


# -- training state (used by models.trainer) -------------------------------------------
_RESUME_FREE = ("steps", "progress", "checkpoint_every")


def _identity(model, task, config) -> list:
    """What a resumed run must share with the saved one: model, task and training config
    (less the fields that may change between calls), as plain JSON values."""
    mine = {k: v for k, v in jsonable(config).items() if k not in _RESUME_FREE}
    return jsonable([model_config(model), task.to_config(), mine])


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
