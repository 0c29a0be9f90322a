"""What a training run is given and what it gives back: ``TrainConfig`` (the settings, checked
when made), ``TrainResult`` and ``TrainingDiverged``. The trainer (``models.trainer``) and the
checkpoints (``models.checkpoint``) both read these; this module reads only the checking layer.

>>> cfg = TrainConfig(alpha=(1.0, 2.0), steps=100, eval_points=4)
>>> cfg.alphas(2).tolist(), cfg.eval_steps(), cfg.lr_at(40_000)
([1.0, 2.0], [0, 1, 5, 22, 100], 0.0009)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .validate import (check, check_bool, check_choice, check_number, check_positive, check_seed, is_int,
                       is_number)


MAX_EVAL_POINTS = 10**6
"""Points of a training history at most (each is a pass over the held-out set)."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are SPEC A's: λ1 = 1e-4, λ2 = 5e-4, Adam lr 0.01 × 0.3 every
    20 000 steps, 100 000 steps of 500 fresh samples.

    ``alpha`` is the task weight α (one number, or one per ensemble member).
    ``dataset_size`` None means fresh batches; an integer D means a fixed data set of D
    samples drawn once, minibatches drawn from it (the full set when ``batch_size ≥ D``).
    ``shared_data`` feeds every ensemble member the same batches (one stream from ``seed``);
    otherwise each member draws its own stream from (``seed``, its model seed), exactly as
    it would if trained alone. ``eval_points`` log-spaced steps are measured on
    ``eval_size`` held-out samples.

    ``compile`` ("auto", "on" or "off") picks the compiled training step (one graph for
    forward, objective, backward and update; MLPs and ensembles) or the eager one; "auto"
    compiles when the run is long enough to repay the warm-up (see ``use_compiled``). The two
    agree to float tolerance, not bit for bit, so a run resumes only under the same setting.
    ``check_every`` is how many steps may pass between looks at the objective for NaN/inf
    (each look waits for the device). ``weight_decay`` adds ``weight_decay·p`` to every
    parameter's gradient, as ``torch.optim.Adam`` and ``SGD`` do (the λ2 penalty, by contrast,
    is part of the objective and acts on weights only); ``momentum`` is SGD's.
    """

    alpha: float | tuple[float, ...] = 1.0
    l1: float = 1e-4
    l2: float = 5e-4
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_decay: float = 0.3
    lr_decay_every: int = 20_000
    steps: int = 100_000
    batch_size: int = 500
    dataset_size: int | None = None
    shared_data: bool = False
    seed: int = 0
    eval_size: int = 2000
    eval_points: int = 50
    checkpoint_every: int = 0
    progress: bool = True
    compile: str = "auto"
    check_every: int = 100

    def __post_init__(self):
        alpha_rule = "a finite task weight > 0, or a non-empty tuple of them (one per ensemble member)"
        if isinstance(self.alpha, (tuple, list)):
            check(len(self.alpha) >= 1, "alpha", self.alpha, alpha_rule)
            for a in self.alpha:
                check(is_number(a) and math.isfinite(a) and a > 0, "alpha", self.alpha, alpha_rule)
            object.__setattr__(self, "alpha", tuple(float(a) for a in self.alpha))
        else:
            check(is_number(self.alpha) and math.isfinite(self.alpha) and self.alpha > 0, "alpha", self.alpha,
                  alpha_rule)
        for name in ("l1", "l2", "weight_decay"):
            check_number(name, getattr(self, name), 0.0, what="a finite number ≥ 0")
        check(is_number(self.momentum) and 0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        check(self.optimizer == "sgd" or self.momentum == 0, "momentum", self.momentum,
              "0 with optimizer='adam' (Adam's moments are its own; momentum is SGD's)")
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_positive("lr", self.lr)
        check(is_number(self.lr_decay) and 0 < self.lr_decay <= 1, "lr_decay", self.lr_decay, "a factor in (0, 1]")
        check_positive("lr_decay_every", self.lr_decay_every, integer=True)
        check(is_int(self.steps) and self.steps >= 0, "steps", self.steps, "an integer ≥ 0")
        check_positive("batch_size", self.batch_size, integer=True)
        if self.dataset_size is not None:
            check_positive("dataset_size", self.dataset_size, integer=True)
        check_bool("shared_data", self.shared_data)
        check_seed("seed", self.seed)
        check_positive("eval_size", self.eval_size, integer=True)
        check(is_int(self.eval_points) and 1 <= self.eval_points <= MAX_EVAL_POINTS, "eval_points", self.eval_points,
              f"an integer in [1, {MAX_EVAL_POINTS}]")
        check(is_int(self.checkpoint_every) and self.checkpoint_every >= 0, "checkpoint_every",
              self.checkpoint_every, "an integer ≥ 0 (0: only at the end)")
        check_bool("progress", self.progress)
        check_choice("compile", self.compile, ("auto", "on", "off"))
        check_positive("check_every", self.check_every, integer=True)

    def alphas(self, n_members: int | None) -> torch.Tensor:
        """α per member, ``[M]`` (``[1]`` for a single model)."""
        m = n_members or 1
        a = self.alpha if isinstance(self.alpha, tuple) else (self.alpha,) * m
        check(len(a) == m, "alpha", self.alpha, f"one number or a tuple of {m} (one per ensemble member)")
        return torch.tensor(a)

    def eval_steps(self) -> list[int]:
        """The steps at which the history is recorded: 0, log-spaced points, and the last."""
        pts = np.unique(np.round(np.logspace(0, math.log10(max(self.steps, 1)), self.eval_points)).astype(int))
        return sorted({0, self.steps, *[int(p) for p in pts if p <= self.steps]})

    def lr_at(self, step: int) -> float:
        return self.lr * self.lr_decay ** (step // self.lr_decay_every)


class TrainingDiverged(RuntimeError):
    """A single model's objective became NaN or inf. ``.result`` holds what was finished."""

    def __init__(self, message: str, result: "TrainResult"):
        super().__init__(message)
        self.result = result


@dataclass
class TrainResult:
    """What ``train`` returns: the trained ``model``, the ``history`` (numpy arrays keyed by
    name: ``step [P]``, ``task_loss [P(, M)]``, ``loss [P(, M), n_subtasks]``, and for parity
    tasks ``skill_strength`` likewise) and ``failed``: ensemble member -> what went wrong.
    ``compiled`` says whether the step was compiled; ``warmup_s`` is the wall time of its
    first call (compilation included; 0 when eager) and ``train_s`` that of the whole
    training loop, warm-up included."""

    model: nn.Module
    history: dict[str, np.ndarray]
    config: TrainConfig
    failed: dict[int, str] = field(default_factory=dict)
    compiled: bool = False
    warmup_s: float = 0.0
    train_s: float = 0.0
