"""Hand-built networks with planted neuron structure, shared by the neuron-accounting tests
(a plain helper module: import it for its nets, its task and ``expected``)."""
from dataclasses import dataclass
from typing import ClassVar

import torch

import models
from models.tasks import Batch, Task

# hidden.0 of the planted nets: what each neuron serves
PLANT = ["A", "A", "B", "B", "dead", "dead", "both", "both"]
W_IN = torch.tensor([[2.0, 0], [-2.0, 0], [0, 1.5], [0, -1.5], [0, 0], [0, 0], [1.0, 1.0], [-1.0, 1.0]])
B_IN = torch.tensor([0.5, 0.5, -0.2, -0.2, 0.3, -0.7, 0.1, 0.2])
V = torch.tensor([[1.0, 0.8, 0, 0, 0.6, -0.4, 0.7, 0.5],   # output A reads A, dead and both
                  [0, 0, 1.2, 0.9, -0.3, 0.2, 0.6, -0.8]])  # output B reads B, dead and both


def planted_mlp() -> models.MLP:
    """One hidden layer of 8 SiLU neurons wired as in ``PLANT`` (inputs x1 -> A, x2 -> B)."""
    net = models.MLP(models.MLPConfig(d_in=2, widths=(8,), d_out=2))
    with torch.no_grad():
        net.layers[0].weight.copy_(W_IN)
        net.layers[0].bias.copy_(B_IN)
        net.layers[1].weight.copy_(V)
        net.layers[1].bias.zero_()
    return net


# hidden.1 of the deep plant: A' reads only A, B' only B, S' only the "both" neurons
PLANT_DEEP = ["A", "B", "both", "dead", "A", "B"]


def planted_deep_mlp() -> models.MLP:
    """Two hidden layers: hidden.0 as ``planted_mlp``; hidden.1 as ``PLANT_DEEP``."""
    net = models.MLP(models.MLPConfig(d_in=2, widths=(8, 6), d_out=2))
    w1 = torch.zeros(6, 8)
    w1[0, 0], w1[0, 1] = 1.0, 0.7     # A'
    w1[1, 2], w1[1, 3] = 0.9, -0.6    # B'
    w1[2, 6], w1[2, 7] = 1.1, 0.8     # S'
    w1[4, 0], w1[4, 1] = -0.8, 0.5    # A'
    w1[5, 2], w1[5, 3] = 0.5, 1.0     # B'
    w1[3, 4], w1[3, 5] = 1.0, 1.0     # reads only dead neurons: constant, dead
    v = torch.tensor([[1.0, 0, 0.9, 0.5, -0.7, 0], [0, 1.1, 0.8, -0.4, 0, 0.6]])
    with torch.no_grad():
        net.layers[0].weight.copy_(W_IN)
        net.layers[0].bias.copy_(B_IN)
        net.layers[1].weight.copy_(w1)
        net.layers[1].bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0, 0.2, 0.1]))
        net.layers[2].weight.copy_(v)
        net.layers[2].bias.zero_()
    return net


@dataclass(frozen=True)
class PlantedTask(Task):
    """Two subtasks A and B with inputs x ~ U[-1,1]²; the targets are a teacher net's outputs
    plus a small offset, so the loss is small but not zero. Subtask A reads x1, B reads x2."""

    deep: bool = False
    d_in: ClassVar[int] = 2
    d_out: ClassVar[int] = 2
    input_groups: ClassVar[tuple] = ((0,), (1,))

    @property
    def subtasks(self):
        return ("A", "B")

    @property
    def weights(self):
        return torch.tensor([0.5, 0.5])

    def sample(self, n, generator):
        x = torch.rand(n, 2, generator=generator) * 2 - 1
        teacher = planted_deep_mlp() if self.deep else planted_mlp()
        with torch.no_grad():
            y = teacher(x) + 0.05 * torch.sin(3 * x)
        return Batch(x, y, torch.full((n,), -1, dtype=torch.long))

    def subtask_losses(self, pred, batch):
        return (pred - batch.y).pow(2).mean(-2)


def expected(plant):
    """The assignment each method should report for a plant."""
    name = {"A": "A", "B": "B", "dead": "unallocated", "both": "shared"}
    return [name[p] for p in plant]

