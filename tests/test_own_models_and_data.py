"""A researcher's own pieces: an ``nn.Module`` and a ``Task`` written outside the zoo, a
``DataTask`` of their own tensors or ``Dataset``, and what the toolkit says when they break
its contracts."""
import json
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

import interp
import models
from models.tasks import TASKS, Batch, Task


@models.register_task
@dataclass(frozen=True)
class TwoAbs(Task):
    """y = (|x1|, |x2|) from x ~ U[-1, 1]^2: each output its own subtask (every sample serves both)."""

    scale: float = 1.0
    d_in: ClassVar[int] = 2
    d_out: ClassVar[int] = 2
    subtasks: ClassVar[tuple] = ("left", "right")

    @property
    def weights(self):
        return torch.tensor([0.5, 0.5])

    def sample(self, n, generator):
        x = 2 * torch.rand(n, 2, generator=generator) - 1
        return Batch(x, self.scale * x.abs(), torch.full((n,), -1))

    def subtask_losses(self, pred, batch):
        return (pred - batch.y).pow(2).mean(-2)


class TwoTowers(nn.Module):
    """A planted net of one's own (not the zoo): tower L (2 ReLU neurons) computes |x1|, tower R
    (4 ReLU neurons) computes |x2| as 0.7·(relu(x2) + relu(-x2)) + 0.6·(relu(x2/2) + relu(-x2/2)),
    and one neuron of each tower's layer is dead. Its neurons sit at the ``nn.ReLU`` modules."""

    def __init__(self):
        super().__init__()
        self.left, self.right = nn.Linear(1, 3), nn.Linear(1, 5)
        self.act_left, self.act_right = nn.ReLU(), nn.ReLU()
        self.out = nn.Linear(8, 2)
        with torch.no_grad():
            self.left.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
            self.left.bias.copy_(torch.tensor([0.0, 0.0, -1.0]))             # neuron 2: dead
            self.right.weight.copy_(torch.tensor([[1.0], [-1.0], [0.5], [-0.5], [0.0]]))
            self.right.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, -1.0]))  # neuron 4: dead
            w = torch.zeros(2, 8)
            w[0, :2] = 1.0
            w[1, 3:5] = 0.7
            w[1, 5:7] = 0.6          # the half-slope pair adds 0.6·0.5|x2| = 0.3|x2|
            self.out.weight.copy_(w)
            self.out.bias.zero_()

    def forward(self, x):
        h = torch.cat([self.act_left(self.left(x[:, :1])), self.act_right(self.right(x[:, 1:]))], -1)
        return self.out(h)


@pytest.mark.parametrize("method", ["ablation", "verified"])
def test_a_planted_two_tower_net_of_ones_own_has_its_towers_recovered(method):
    net = TwoTowers()
    task = TwoAbs(scale=1.0)
    x = torch.rand(64, 2) * 2 - 1
    assert torch.allclose(net(x)[:, 0], x[:, 0].abs()) and torch.allclose(net(x)[:, 1], x[:, 1].abs(), atol=1e-6)
    options = {"candidates": 1.0, "min_candidates": 8} if method == "verified" else None
    alloc = interp.allocate(net, task, method=method, n_samples=2048, options=options, progress=False)
    assert tuple(alloc.sites) == ("act_left", "act_right")
    assert alloc.assignment("act_left") == ["left", "left", "unallocated"]
    assert alloc.assignment("act_right") == ["right"] * 4 + ["unallocated"]
    assert alloc.counts() == {"left": 2, "right": 4}
    assert alloc.n_live == 6


def test_an_own_sequential_and_an_own_task_train_allocate_and_round_trip(tmp_path):
    task = TwoAbs(scale=2.0)
    net = nn.Sequential(nn.Linear(2, 12), nn.ReLU(), nn.Linear(12, 2))
    result = models.train(net, task, models.TrainConfig(alpha=20, steps=300, lr=0.02, progress=False))
    assert result.history["task_loss"][-1] < 0.5 * result.history["task_loss"][0]
    alloc = interp.allocate(result.model, task, method="ablation", progress=False)
    assert set(alloc.counts()) == {"left", "right"} and tuple(alloc.sites) == ("1",)
    folder = models.save(result.model, tmp_path / "own", task=task, train_config=result.config,
                         history=result.history)
    config = json.loads((folder / "config.json").read_text())
    assert config["task"] == {"type": "TwoAbs", "scale": 2.0}
    assert [layer["type"] for layer in config["model"]["layers"]] == ["Linear", "ReLU", "Linear"]
    ckpt = models.load(folder)
    assert ckpt.task == task and isinstance(ckpt.model, nn.Sequential)
    x = torch.rand(16, 2)
    assert torch.equal(ckpt.model(x), result.model(x))
    again = interp.allocate(ckpt.model, ckpt.task, method="ablation", progress=False)
    assert again.counts() == alloc.counts()


def test_an_unregistered_task_type_says_which_name_to_register(tmp_path):
    folder = models.save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "c", task=TwoAbs())
    config = json.loads((folder / "config.json").read_text())
    config["task"]["type"] = "ThreeAbs"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"type='ThreeAbs' is not allowed: .*registered it \(models.register_task\)"):
        models.load(folder)


def test_registering_a_task_is_checked():
    with pytest.raises(ValueError, match="built-in"):
        models.register_task(name="Square")(TwoAbs)
    with pytest.raises(ValueError, match="a subclass of models.tasks.Task"):
        models.register_task(int)

    class NotADataclass(Task):
        pass
    with pytest.raises(ValueError, match="a dataclass"):
        models.register_task(NotADataclass)

    @dataclass(frozen=True)
    class TwoAbs2(TwoAbs):
        pass
    with pytest.raises(ValueError, match="a name no other task holds"):
        models.register_task(name="TwoAbs")(TwoAbs2)
    models.register_task(name="TwoAbsRenamed")(TwoAbs2)
    try:
        assert Task.from_config({"type": "TwoAbsRenamed"}) == TwoAbs2()
        assert TwoAbs2().to_config() == {"type": "TwoAbsRenamed", "scale": 1.0}
    finally:
        del TASKS["TwoAbsRenamed"]


def test_a_module_outside_the_supported_layers_is_refused_by_save(tmp_path):
    with pytest.raises(ValueError, match=r"model='TwoTowers' is not allowed: expected a zoo model .* or an "
                                         r"nn.Sequential of"):
        models.save(TwoTowers(), tmp_path / "x")
    with pytest.raises(ValueError, match=r"Sequential\(Linear, BatchNorm1d\)"):
        models.save(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), tmp_path / "x")


@dataclass(frozen=True)
class Broken(TwoAbs):
    """A task whose ``sample`` breaks the contract in one field."""

    fault: str = "none"

    def sample(self, n, generator):
        x, y, sub = super().sample(n, generator)
        if self.fault == "subtask None":
            return Batch(x, y, None)
        if self.fault == "subtask float":
            return Batch(x, y, torch.zeros(n))
        if self.fault == "subtask out of range":
            return Batch(x, y, torch.full((n,), 2))
        if self.fault == "x shape":
            return Batch(x[:, :1], y, sub)
        if self.fault == "tuple":
            return (x, y, sub)
        return Batch(x, y[:-1], sub)


@pytest.mark.parametrize("fault, message", [
    ("subtask None", r"Broken.sample\(...\).subtask=None is not allowed: expected an integer tensor \[2\]"),
    ("subtask float", r"subtask='torch.float32 tensor of shape \(2,\)' is not allowed: expected an integer tensor"),
    ("subtask out of range", r"subtask='values in \[2, 2\]' is not allowed: .* in \[0, 2\)"),
    ("x shape", r"\.x='torch.float32 tensor of shape \(2, 1\)' is not allowed: expected a tensor \[2, 2\]"),
    ("tuple", r"Broken.sample\(...\)='tuple' is not allowed: expected a models.tasks.Batch"),
    ("y rows", r"\.y='torch.float32 tensor of shape \(1, 2\)' is not allowed: expected a tensor of 2 rows"),
])
def test_a_sample_that_breaks_the_contract_is_refused_naming_the_field(fault, message):
    task = Broken(fault=fault)
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match=message):
        models.train(net, task, models.TrainConfig(steps=2, progress=False))
    with pytest.raises(ValueError, match=message):
        interp.allocate(net, task, method="ablation", progress=False)


# -------------------------------------------------------------------------------------------
# DataTask: one's own labelled data
# -------------------------------------------------------------------------------------------
def _planted_data(n=600, seed=0):
    """Inputs x ∈ [-1, 1]^2; subtask 0 asks for |x1| (second output 0), subtask 1 for |x2|."""
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.rand(n, 2, generator=g) - 1
    sub = torch.arange(n) % 2
    y = torch.zeros(n, 2)
    y[sub == 0, 0] = x[sub == 0, 0].abs()
    y[sub == 1, 1] = x[sub == 1, 1].abs()
    return x, y, sub


class PairsDataset(torch.utils.data.Dataset):
    def __init__(self):
        self.x, self.y, self.sub = _planted_data()

    def __len__(self):
        return len(self.sub)

    def __getitem__(self, i):
        return self.x[i].numpy(), self.y[i], int(self.sub[i])


@pytest.mark.parametrize("source", ["tensors", "dataset"])
def test_a_data_task_trains_allocates_saves_and_loads(tmp_path, source):
    if source == "tensors":
        task = models.DataTask(*_planted_data(), names=("abs1", "abs2"))
    else:
        task = models.DataTask.from_dataset(PairsDataset(), names=("abs1", "abs2"))
    assert task.summary() == "DataTask(600 samples, d_in 2, d_out 2, mse; abs1: 300, abs2: 300)"
    net = models.MLP(models.MLPConfig(d_in=2, widths=(16,), d_out=2))
    result = models.train(net, task, models.TrainConfig(alpha=20, steps=300, batch_size=100, progress=False))
    assert result.history["loss"][-1].max() < 0.5 * result.history["loss"][0].max()
    alloc = interp.allocate(result.model, task, method="ablation", batch_size=64, progress=False)
    assert set(alloc.counts()) == {"abs1", "abs2"} and alloc.notes["task"].startswith("DataTask(600 samples")
    folder = models.save(result.model, tmp_path / "data", task=task)
    config = json.loads((folder / "config.json").read_text())
    assert "x" not in json.dumps(config["task"]) and config["task"]["n_samples"] == 600   # the data sits beside it
    assert (folder / "task_data.safetensors").is_file()
    ckpt = models.load(folder)
    assert ckpt.task == task and torch.equal(ckpt.task.x, task.x)
    again = interp.allocate(ckpt.model, ckpt.task, method="ablation", batch_size=64, progress=False)
    assert again.counts() == alloc.counts()
    np.testing.assert_allclose(again.scores["hidden.0"], alloc.scores["hidden.0"], rtol=1e-6, atol=1e-9)
    # a checkpoint whose data file was swapped is refused
    other = models.DataTask(*_planted_data(seed=1), names=("abs1", "abs2"))
    models.save(result.model, tmp_path / "other", task=other)
    (tmp_path / "other" / "task_data.safetensors").replace(folder / "task_data.safetensors")
    with pytest.raises(ValueError, match="digest differs"):
        models.load(folder)


def test_a_data_task_with_cross_entropy_and_weights():
    x = torch.randn(40, 3)
    labels = (x[:, 0] > 0).long()
    task = models.DataTask(x, labels, torch.arange(40) % 4, loss="ce", subtask_weights=(1, 1, 1, 5), n_classes=3)
    assert task.d_out == 3 and task.weights.tolist() == pytest.approx([0.125, 0.125, 0.125, 0.625])
    batch = task.eval_batch(100, torch.Generator())
    losses = task.subtask_losses(torch.zeros(2, 40, 3), batch)           # two models side by side
    assert losses.shape == (2, 4) and torch.allclose(losses, torch.full((2, 4), math.log(3)))
    assert [p.x.shape[0] for p in task.eval_pieces(100, 16, torch.Generator())] == [16, 16, 8]
    assert sum(p.x.shape[0] for p in task.eval_pieces(10, 4, torch.Generator())) == 10


@pytest.mark.parametrize("kwargs, message", [
    (dict(x=torch.zeros(4), y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long)), r"x='shape \(4,\)'"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(3), subtask=torch.zeros(4, dtype=torch.long)), r"y='shape \(3,\)'"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.zeros(4)), r"subtask='torch.float32 tensor"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.tensor([0, 1, 2, 3]), names=("a", "b")),
     r"subtask='values up to 3' is not allowed: expected indices in \[0, 2\)"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.tensor([0, -1, 0, 0])), "subtask indices ≥ 0"),
    (dict(x=torch.full((4, 2), float("nan")), y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long)),
     "finite inputs"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long), loss="ce"),
     r"y='torch.float32 tensor of shape \(4,\)' is not allowed: expected integer class labels"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long), loss="l1"), "loss='l1'"),
    (dict(x=torch.zeros(4, 2), y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long),
          subtask_weights=(1, 2)), "subtask_weights"),
    (dict(x="abc", y=torch.zeros(4), subtask=torch.zeros(4, dtype=torch.long)), "x=str is not allowed"),
])
def test_bad_data_is_refused_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.DataTask(**kwargs)


def test_a_data_task_config_without_its_data_says_where_the_data_lives():
    task = models.DataTask(*_planted_data(n=10))
    with pytest.raises(ValueError, match="a DataTask's data lives in tensors"):
        Task.from_config(task.to_config())
    assert Task.from_config(json.loads(json.dumps(task.to_config())), task.tensors()) == task


# -------------------------------------------------------------------------------------------
# the trainer's silent paths
# -------------------------------------------------------------------------------------------
def test_adam_applies_weight_decay_as_torch_does():
    task = models.tasks.Square()
    cfg = dict(alpha=1.0, l1=0.0, l2=0.0, steps=5, lr=0.05, progress=False, compile="off", eval_points=2)
    runs = {}
    for wd in (0.0, 0.5):
        net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
        runs[wd] = models.train(net, task, models.TrainConfig(weight_decay=wd, **cfg)).model
    # by hand: torch.optim.Adam with the same weight decay over the same batches
    net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    opt = torch.optim.Adam(net.parameters(), lr=0.05, weight_decay=0.5)
    from models.trainer import _Data, _model_seeds
    data = _Data(task, models.TrainConfig(**cfg), _model_seeds(net))
    for step in range(5):
        batch = data.batch(step)
        opt.zero_grad()
        task.loss(net(batch.x), batch).backward()
        opt.step()
    for a, b in zip(runs[0.5].parameters(), net.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert not all(torch.allclose(a, b) for a, b in zip(runs[0.0].parameters(), net.parameters()))


def test_momentum_with_adam_is_refused():
    with pytest.raises(ValueError, match=r"momentum=0.9 is not allowed: expected 0 with optimizer='adam'"):
        models.TrainConfig(optimizer="adam", momentum=0.9)


def test_a_member_never_finite_is_marked_failed_and_its_checkpoint_loads(tmp_path):
    net = models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1, 2))
    with torch.no_grad():
        net.weight[0][1].fill_(float("nan"))
    result = models.train(net, models.tasks.Square(), models.TrainConfig(steps=20, progress=False, eval_points=3))
    assert list(result.failed) == [1] and "step 0" in result.failed[1]
    folder = models.save(result.model, tmp_path / "e", task=models.tasks.Square())
    ckpt = models.load(folder)
    assert ckpt.model.failed == result.failed
    assert torch.isfinite(ckpt.model.weight[0][[0, 2]]).all()
    alloc = interp.allocate(ckpt.model, models.tasks.Square(), method="ablation", progress=False)
    assert alloc[1].failed and not alloc[0].failed
