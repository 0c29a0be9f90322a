"""Toy MLPs: one model, or an ensemble of M models of one shape with stacked parameters.

Hidden neurons sit at TransformerLens hook sites ``hidden.0`` .. ``hidden.{L-1}`` (after
the activation), so one capture path serves every model of the zoo.

>>> import torch
>>> net = MLP(MLPConfig(d_in=1, widths=(8, 8), d_out=1, seed=0))
>>> net(torch.zeros(5, 1)).shape
torch.Size([5, 1])
>>> ens = Ensemble(MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1, 2))
>>> ens(torch.zeros(3, 5, 1)).shape          # [models, batch, d_in] -> [models, batch, d_out]
torch.Size([3, 5, 1])
>>> torch.allclose(ens.member(1)(torch.ones(2, 1)), ens(torch.ones(2, 1))[1])
True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Sequence

import torch
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from .validate import (MAX_MEMBERS, check, check_choice, check_memory, check_positive, check_seed, is_int)

ACTIVATIONS = {
    "silu": nn.functional.silu,
    "relu": nn.functional.relu,
    "gelu": nn.functional.gelu,
    "tanh": torch.tanh,
    "linear": lambda x: x,
}


def n_parameters(dims) -> int:
    """Weights and biases of an MLP with layer sizes ``dims`` (inputs, hidden..., outputs).

    >>> n_parameters((1, 100, 1))
    301
    """
    return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))


@dataclass(frozen=True)
class MLPConfig:
    """Shape and initialisation of an MLP.

    ``widths`` are the hidden layer sizes; ``init="default"`` is PyTorch's ``nn.Linear``
    initialisation, ``init="normal"`` draws every weight from N(0, init_std²) with zero
    biases (the parity recipes' small initialisation). ``seed`` fixes the initialisation.
    """

    d_in: int
    widths: tuple[int, ...]
    d_out: int
    activation: str = "silu"
    seed: int = 0
    init: str = "default"
    init_std: float = 0.01

    def __post_init__(self):
        check_positive("d_in", self.d_in, integer=True)
        check_positive("d_out", self.d_out, integer=True)
        check(isinstance(self.widths, (tuple, list)), "widths", self.widths, "a tuple of integers ≥ 1, e.g. (1000,)")
        object.__setattr__(self, "widths", tuple(self.widths))
        check(len(self.widths) >= 1, "widths", self.widths, "at least one hidden layer, e.g. (1000,)")
        for w in self.widths:
            check(is_int(w) and w >= 1, "widths", self.widths, "a tuple of integers ≥ 1")
        check_choice("activation", self.activation, sorted(ACTIVATIONS))
        check_choice("init", self.init, ("default", "normal"))
        check_positive("init_std", self.init_std)
        check_seed("seed", self.seed)
        n = self.n_parameters
        check_memory("widths", self.widths, 4 * n, f"{n:.3g} parameters of float32")

    @property
    def n_parameters(self) -> int:
        """Weights and biases of one MLP of this shape."""
        return n_parameters(self.dims)

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.d_in, *self.widths, self.d_out)


class MLP(HookedRootModule):
    """f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L, hidden activations at ``hidden.{i}``.

    Input ``[..., d_in]``, output ``[..., d_out]``. ``layers[i]`` is an ``nn.Linear``.
    """

    def __init__(self, config: MLPConfig):
        check(isinstance(config, MLPConfig), "config", type(config).__name__, "an MLPConfig")
        super().__init__()
        self.config = config
        g = torch.Generator().manual_seed(config.seed)
        dims = config.dims
        self.layers = nn.ModuleList()
        for a, b in zip(dims[:-1], dims[1:]):
            layer = nn.Linear(a, b)
            with torch.no_grad():
                if config.init == "normal":
                    layer.weight.normal_(0.0, config.init_std, generator=g)
                    layer.bias.zero_()
                else:  # nn.Linear's own rule, drawn from our generator
                    bound = a**-0.5
                    layer.weight.uniform_(-bound, bound, generator=g)
                    layer.bias.uniform_(-bound, bound, generator=g)
            self.layers.append(layer)
        self.hidden = nn.ModuleList([HookPoint() for _ in config.widths])
        self._act = ACTIVATIONS[config.activation]
        self.setup()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, hook in zip(self.layers[:-1], self.hidden):
            x = hook(self._act(layer(x)))
        return self.layers[-1](x)

    def weights(self) -> list[torch.Tensor]:
        """The weight matrices (penalised by L1/L2); biases are left out."""
        return [layer.weight for layer in self.layers]

    @property
    def sites(self) -> dict[str, int]:
        """Neuron sites and their sizes, e.g. ``{'hidden.0': 1000}``."""
        return {f"hidden.{i}": w for i, w in enumerate(self.config.widths)}

    def to_config(self) -> dict:
        return {"type": "MLP", "config": asdict(self.config)}


def n_members(model: nn.Module) -> int | None:
    """The number of stacked members of an ensemble-like model (``model.n_members``), else None.

    >>> n_members(Ensemble(MLPConfig(1, (4,), 1), seeds=(0, 1))), n_members(MLP(MLPConfig(1, (4,), 1)))
    (2, None)
    """
    m = getattr(model, "n_members", None)
    return int(m) if m is not None else None


class Ensemble(HookedRootModule):
    """M independent MLPs of one shape, parameters stacked along a leading model axis.

    Member i is initialised exactly as ``MLP(replace(config, seed=seeds[i]))``. Input
    ``[M, batch, d_in]`` (or ``[batch, d_in]``, shared by all members), output
    ``[M, batch, d_out]``; hidden activations ``[M, batch, width]`` at ``hidden.{i}``.
    ``weight[i]`` is ``[M, fan_in, fan_out]`` (the transpose of ``nn.Linear.weight``).
    ``forward(x, members=slice(a, b))`` runs members a..b-1 only (the trainer works through
    wide ensembles a few members at a time, so activations stay in the CPU's cache).
    ``failed``: member -> what went wrong in training (set by ``train`` and kept by
    checkpoints); analyses mark these members as failed in their results.
    """

    def __init__(self, config: MLPConfig, seeds: Sequence[int]):
        super().__init__()
        check(isinstance(config, MLPConfig), "config", type(config).__name__, "an MLPConfig")
        check(not isinstance(seeds, (str, bytes)) and hasattr(seeds, "__len__"), "seeds", seeds,
              "a non-empty sequence of integer seeds, one per member")
        check(1 <= len(seeds) <= MAX_MEMBERS, "seeds", f"{len(seeds)} seeds",
              f"a non-empty sequence of at most {MAX_MEMBERS} seeds, one per member")
        seeds = tuple(seeds)
        for i, s in enumerate(seeds):
            check_seed(f"seeds[{i}]", s)
        n = len(seeds) * config.n_parameters
        check_memory("seeds", f"{len(seeds)} members", 4 * n, f"{n:.3g} parameters of float32 in all")
        self.config = replace(config, seed=seeds[0])
        self.seeds = seeds
        self.failed: dict[int, str] = {}
        members = [MLP(replace(config, seed=s)) for s in seeds]
        n = len(config.dims) - 1
        self.weight = nn.ParameterList(
            [nn.Parameter(torch.stack([m.layers[i].weight.detach().T for m in members]).contiguous()) for i in range(n)])
        self.bias = nn.ParameterList(
            [nn.Parameter(torch.stack([m.layers[i].bias.detach() for m in members]).unsqueeze(1)) for i in range(n)])
        self.hidden = nn.ModuleList([HookPoint() for _ in config.widths])
        self._act = ACTIVATIONS[config.activation]
        self.setup()

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def forward(self, x: torch.Tensor, members: slice | None = None) -> torch.Tensor:
        """Run every member, or only ``members`` (a slice of the model axis; ``x`` then holds
        just those members' inputs, or one shared ``[batch, d_in]``)."""
        sl = slice(None) if members is None else members
        weight, bias = [w[sl] for w in self.weight], [b[sl] for b in self.bias]
        if x.dim() == 2:
            x = x.expand(weight[0].shape[0], *x.shape)
        for w, b, hook in zip(weight[:-1], bias[:-1], self.hidden):
            x = hook(self._act(torch.baddbmm(b, x, w)))
        return torch.baddbmm(bias[-1], x, weight[-1])

    def weights(self) -> list[torch.Tensor]:
        """The stacked weight tensors, each ``[M, fan_in, fan_out]``."""
        return list(self.weight)

    @property
    def sites(self) -> dict[str, int]:
        return {f"hidden.{i}": w for i, w in enumerate(self.config.widths)}

    def member(self, i: int) -> MLP:
        """Member ``i`` as a plain ``MLP`` (a copy)."""
        check(isinstance(i, int) and -self.n_members <= i < self.n_members, "i", i,
              f"an index in [0, {self.n_members})")
        net = MLP(replace(self.config, seed=self.seeds[i]))
        with torch.no_grad():
            for layer, w, b in zip(net.layers, self.weight, self.bias):
                layer.weight.copy_(w[i].T)
                layer.bias.copy_(b[i, 0])
        return net

    @classmethod
    def stack(cls, nets: Sequence[MLP]) -> "Ensemble":
        """An ensemble holding copies of ``nets`` (all of one shape)."""
        check(len(nets) >= 1, "nets", nets, "at least one MLP")
        shape = replace(nets[0].config, seed=0)
        for net in nets:
            check(replace(net.config, seed=0) == shape, "nets", net.config, f"MLPs shaped like {shape}")
        ens = cls(nets[0].config, [n.config.seed for n in nets])
        with torch.no_grad():
            for i, net in enumerate(nets):
                for layer, w, b in zip(net.layers, ens.weight, ens.bias):
                    w[i].copy_(layer.weight.T)
                    b[i, 0].copy_(layer.bias)
        return ens

    def to_config(self) -> dict:
        return {"type": "Ensemble", "config": asdict(self.config), "seeds": list(self.seeds)}
