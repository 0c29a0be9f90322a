"""A task from one's own labelled data: inputs, targets and each sample's subtask.

``DataTask(x, y, subtask)`` holds the data as tensors; ``DataTask.from_dataset(ds)`` stacks
a map-style ``torch.utils.data.Dataset`` of ``(x, y, subtask)`` items. Training draws
minibatches from it (uniformly, with replacement), analyses evaluate on it (every sample
once, in pieces), and a checkpoint keeps the data beside its config in
``task_data.safetensors`` (the config holds a digest of it, checked when it is read back),
so a saved model can be allocated again from its folder alone.

>>> import torch
>>> x = torch.linspace(-1, 1, 8).unsqueeze(1)
>>> task = DataTask(x, x**2, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), names=("left", "right"))
>>> task.subtasks, task.d_in, task.d_out, task.weights.tolist()
(('left', 'right'), 1, 1, [0.5, 0.5])
>>> task.subtask_losses(torch.zeros(8, 1), task.eval_batch(8, torch.Generator())).shape
torch.Size([2])
"""
from __future__ import annotations

import torch

from .tasks import Batch, HeldDataTask, check_subtask_weights, digest, register_built_in
from .validate import check, check_choice, check_positive, is_int

LOSSES = ("mse", "ce")


class DataTask(HeldDataTask):
    """Labelled data as a task. ``x [N, d_in]`` inputs (float), ``subtask [N]`` each sample's
    subtask in ``[0, K)``; with ``loss="mse"`` ``y [N, d_out]`` (or ``[N]``) float targets,
    with ``loss="ce"`` ``y [N]`` class labels in ``[0, n_classes)``. ``names``: the K subtask
    names (default ``subtask0``, ...); ``subtask_weights``: their weights in the composite
    loss (default: each subtask's share of the samples, so the composite is the plain mean
    over samples); ``n_classes`` (cross-entropy): the number of outputs (default: the largest
    label + 1)."""

    def __init__(self, x, y, subtask, loss: str = "mse", names=None, subtask_weights=None,
                 n_classes: int | None = None):
        check_choice("loss", loss, LOSSES)
        x, y, subtask = (_tensor(n, v) for n, v in (("x", x), ("y", y), ("subtask", subtask)))
        check(x.dim() == 2 and x.shape[0] >= 1 and x.shape[1] >= 1, "x", f"shape {tuple(x.shape)}",
              "a tensor [N, d_in] with N ≥ 1 samples")
        n = x.shape[0]
        check(not x.is_complex(), "x", x.dtype, "real numbers")
        x = x.float()
        check(not x.isnan().any() and not x.isinf().any(), "x", "a tensor with NaN or inf", "finite inputs")
        check(subtask.shape == (n,) and not subtask.is_floating_point() and subtask.dtype != torch.bool, "subtask",
              f"{subtask.dtype} tensor of shape {tuple(subtask.shape)}",
              f"an integer tensor [{n}] (one subtask index per sample of x)")
        subtask = subtask.long()
        check(int(subtask.min()) >= 0, "subtask", f"values from {int(subtask.min())}", "subtask indices ≥ 0")
        K = int(subtask.max()) + 1 if names is None else len(tuple(names))
        if names is None:
            names = tuple(f"subtask{k}" for k in range(K))
        names = tuple(names)
        check(len(names) >= 1 and all(isinstance(s, str) for s in names) and len(set(names)) == len(names),
              "names", names, "distinct strings, one per subtask")
        check(int(subtask.max()) < K, "subtask", f"values up to {int(subtask.max())}",
              f"indices in [0, {K}) for the {K} names {list(names)}")
        if loss == "mse":
            check(y.shape[0] == n and y.dim() in (1, 2), "y", f"shape {tuple(y.shape)}",
                  f"float targets [{n}, d_out] or [{n}] (one row per sample of x)")
            y = (y.unsqueeze(1) if y.dim() == 1 else y).float()
            check(bool(torch.isfinite(y).all()), "y", "a tensor with NaN or inf", "finite targets")
            check(n_classes is None, "n_classes", n_classes, "None with loss='mse' (the outputs are y's columns)")
        else:
            check(y.shape == (n,) and not y.is_floating_point() and y.dtype != torch.bool, "y",
                  f"{y.dtype} tensor of shape {tuple(y.shape)}", f"integer class labels [{n}] with loss='ce'")
            y = y.long()
            top = int(y.max()) + 1
            if n_classes is None:
                n_classes = max(top, 2)
            check(is_int(n_classes) and n_classes >= max(top, 2) and int(y.min()) >= 0, "n_classes", n_classes,
                  f"an integer ≥ 2 above every label (labels span [{int(y.min())}, {top - 1}])")
        counts = torch.bincount(subtask, minlength=K).double()
        if subtask_weights is None:
            weights = tuple((counts / n).tolist())
        else:
            weights = check_subtask_weights(subtask_weights, K)
            weights = tuple(v / sum(weights) for v in weights)
        self.x, self.y, self.subtask = x, y, subtask
        self.loss_type, self.names, self.n_classes = loss, names, n_classes
        self.subtask_weights = None if subtask_weights is None else weights
        self._weights = torch.tensor(weights, dtype=torch.float64)

    @classmethod
    def from_dataset(cls, dataset, **kwargs) -> "DataTask":
        """A task from a map-style ``torch.utils.data.Dataset`` (``len`` and ``[i]``) whose items
        are ``(x, y, subtask)``: ``x`` a tensor (or array, or number), ``y`` the target (a class
        label for ``loss="ce"``), ``subtask`` an integer. The items are stacked once; keyword
        arguments are ``DataTask``'s.

        >>> class Squares(torch.utils.data.Dataset):
        ...     def __len__(self):
        ...         return 6
        ...     def __getitem__(self, i):
        ...         x = torch.tensor([i / 6.0])
        ...         return x, x**2, i % 2
        >>> DataTask.from_dataset(Squares(), names=("even", "odd")).summary()
        'DataTask(6 samples, d_in 1, d_out 1, mse; even: 3, odd: 3)'
        """
        check(hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"), "dataset", type(dataset).__name__,
              "a map-style torch Dataset (len(ds) and ds[i]) of (x, y, subtask) items")
        n = len(dataset)
        check(n >= 1, "dataset", f"{type(dataset).__name__} of length {n}", "at least one item")
        xs, ys, ks = [], [], []
        for i in range(n):
            item = dataset[i]
            check(isinstance(item, (tuple, list)) and len(item) == 3, f"dataset[{i}]", type(item).__name__,
                  "an (x, y, subtask) item")
            xs.append(torch.as_tensor(item[0]).reshape(-1))
            ys.append(torch.as_tensor(item[1]))
            ks.append(int(item[2]) if is_int(item[2]) or (isinstance(item[2], torch.Tensor) and item[2].numel() == 1
                                                          and not item[2].is_floating_point()) else -1)
            check(ks[-1] >= 0, f"dataset[{i}]: subtask", item[2], "an integer subtask index ≥ 0")
        widths = {t.numel() for t in xs}
        check(len(widths) == 1, "dataset", f"inputs of sizes {sorted(widths)[:5]}", "inputs of one size")
        try:
            y = torch.stack([t.reshape(-1) if t.dim() else t for t in ys])
        except RuntimeError as e:
            raise ValueError(f"dataset is not allowed: expected targets of one shape ({e})") from None
        return cls(torch.stack(xs), y, torch.tensor(ks), **kwargs)

    # -- shape -------------------------------------------------------------------------
    @property
    def d_in(self) -> int:
        return self.x.shape[1]

    @property
    def d_out(self) -> int:
        return self.y.shape[1] if self.loss_type == "mse" else self.n_classes

    @property
    def subtasks(self) -> tuple[str, ...]:
        return self.names

    @property
    def weights(self) -> torch.Tensor:
        return self._weights

    def __len__(self) -> int:
        return self.x.shape[0]

    # -- data --------------------------------------------------------------------------
    def _rows(self, idx: torch.Tensor | slice) -> Batch:
        return Batch(self.x[idx], self.y[idx], self.subtask[idx])

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` samples drawn uniformly from the data, with replacement."""
        check_positive("n", n, integer=True)
        return self._rows(torch.randint(len(self), (n,), generator=generator))

    def _per_sample(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        if self.loss_type == "ce":
            return torch.nn.functional.cross_entropy(pred.flatten(0, -2), batch.y.expand(pred.shape[:-1]).flatten(),
                                                     reduction="none").reshape(pred.shape[:-1])
        return (pred - batch.y).pow(2).mean(-1)

    def sample_losses(self, pred: torch.Tensor, batch: Batch, lead: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Each sample's loss in its subtask's column ``[..., n, K]`` (squared error averaged
        over the outputs, or cross-entropy), weight 1 there ``[n, K]``, for ``pred [..., n, d_out]``."""
        onehot = torch.nn.functional.one_hot(batch.subtask, len(self.names)).to(pred.dtype)
        return self._per_sample(pred, batch).unsqueeze(-1) * onehot, onehot

    # -- description and serialisation --------------------------------------------------
    def summary(self) -> str:
        """One line: the data's size and each subtask's number of samples."""
        counts = torch.bincount(self.subtask, minlength=len(self.names)).tolist()
        parts = ", ".join(f"{k}: {c}" for k, c in zip(self.names, counts)) if len(self.names) <= 8 else \
            f"{len(self.names)} subtasks"
        return f"DataTask({len(self)} samples, d_in {self.d_in}, d_out {self.d_out}, {self.loss_type}; {parts})"

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"x": self.x, "y": self.y, "subtask": self.subtask}

    def to_config(self) -> dict:
        """Settings and a digest of the data (``data_sha256``); the data is in ``tensors()``."""
        return {"type": "DataTask", "loss": self.loss_type, "names": list(self.names),
                "subtask_weights": None if self.subtask_weights is None else list(self.subtask_weights),
                "n_classes": self.n_classes, "n_samples": len(self), "data_sha256": self.data_digest()}

    @classmethod
    def from_fields(cls, config: dict, tensors: dict[str, torch.Tensor] | None = None) -> "DataTask":
        keys = {"loss", "names", "subtask_weights", "n_classes", "n_samples", "data_sha256"}
        unknown = sorted(set(config) - keys)
        check(not unknown, "key", unknown, f"a field of DataTask: one of {sorted(keys)} (or 'type')")
        check(isinstance(tensors, dict) and set(tensors) == {"x", "y", "subtask"}, "tensors",
              sorted(tensors) if isinstance(tensors, dict) else tensors,
              "the data x, y and subtask: a DataTask's data lives in tensors (a checkpoint's task_data.safetensors), "
              "not in its JSON config")
        check(digest(tensors) == config.get("data_sha256"), "tensors", "data whose digest differs",
              f"the data the config describes (sha256 {config.get('data_sha256')})")
        return cls(tensors["x"], tensors["y"], tensors["subtask"], loss=config.get("loss", "mse"),
                   names=config.get("names"), subtask_weights=config.get("subtask_weights"),
                   n_classes=config.get("n_classes"))


register_built_in(DataTask)


def _tensor(name: str, value) -> torch.Tensor:
    """``value`` as a tensor (arrays and nested lists are converted), refused naming ``name``."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{name}={type(value).__name__} is not allowed: expected a tensor or an array ({e})") from None

