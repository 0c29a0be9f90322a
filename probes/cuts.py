"""Running a model from a block onward: the blocks before a site run once, many changed copies
of the rest run side by side.

A change at a neuron of block l leaves everything before block l as it was, so a measurement
that changes neurons one at a time (mean ablation) need not run blocks ``0 .. l-1`` again for
each. ``block_list(model, sites)`` finds the blocks: the ``blocks`` of a TransformerLens 4 bridge
(the Hugging Face decoder layers, wrapped) or of the zoo transformer, the linear layers of a
zoo ``MLP``, the children of an ``nn.Sequential``. ``capture_inputs`` records each block's input
on a normal forward pass; inside ``resumed(cut, l, stream, copies)`` a forward pass over
``copies`` repeats of the inputs skips blocks ``0 .. l-1`` (each hands its input through
unchanged) and starts block l from the recorded ``stream``, repeated ``copies`` times side by
side: ``[(copies·B), ...]``, copy-major, as ``einops.repeat(x, "b ... -> (j b) ...")`` lays
them out. The embedding and the masks still run, on the repeated inputs; they are cheap.

>>> import torch, models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(4, 3), d_out=1))
>>> cut = block_list(net, ["hidden.0", "hidden.1"])
>>> cut.index
{'hidden.0': 0, 'hidden.1': 1}
>>> x = torch.linspace(-1, 1, 5).unsqueeze(1)
>>> out, inputs = capture_inputs(cut, net, x, [1])
>>> with resumed(cut, 1, inputs[1], copies=2):
...     again = net(x.repeat(2, 1))
>>> torch.allclose(again, out.repeat(2, 1))
True
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from torch import nn

_BLOCK = re.compile(r"^blocks\.(\d+)\.")
_HIDDEN = re.compile(r"^hidden\.(\d+)$")


@dataclass(frozen=True)
class Cut:
    """A model's blocks in forward order and the block each site sits in (``index``);
    ``outputs``: per block, the length of the tuple it returns (0: a tensor), as last seen."""

    blocks: tuple[nn.Module, ...]
    index: dict[str, int]
    outputs: dict[int, int] = field(default_factory=dict, compare=False)


def block_list(model: nn.Module, sites: Sequence[str]) -> Cut | None:
    """The blocks of ``model`` holding ``sites`` (see the module docs), or None when the model
    is not made of blocks run one after another (an ``Ensemble``, a model of one's own): its
    measurements then run the whole model."""
    blocks = getattr(model, "blocks", None)
    if isinstance(blocks, nn.ModuleList):
        found = {s: _BLOCK.match(s) for s in sites}
        if all(found.values()):
            return Cut(tuple(blocks), {s: int(m.group(1)) for s, m in found.items()})
    layers = getattr(model, "layers", None)
    if isinstance(layers, nn.ModuleList) and all(isinstance(l, nn.Linear) for l in layers) \
            and isinstance(getattr(model, "hidden", None), nn.ModuleList):
        found = {s: _HIDDEN.match(s) for s in sites}
        if all(found.values()):
            return Cut(tuple(layers), {s: int(m.group(1)) for s, m in found.items()})
    if type(model) is nn.Sequential:
        names = [n for n, _ in model.named_children()]
        if all(s in names for s in sites):
            return Cut(tuple(model), {s: names.index(s) for s in sites})
    return None


def _hidden_of(args, kwargs) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]


def capture_inputs(cut: Cut, model: nn.Module, x, blocks: Sequence[int]) -> tuple[object, dict[int, torch.Tensor]]:
    """One forward pass of ``model(x)``: its output and the input of each block in ``blocks``
    (the residual stream, or the layer's input), detached."""
    seen: dict[int, torch.Tensor] = {}
    handles = []
    try:
        for l in sorted(set(blocks)):
            def pre(mod, args, kwargs, _l=l):
                seen[_l] = _hidden_of(args, kwargs).detach()
            handles.append(cut.blocks[l].register_forward_pre_hook(pre, with_kwargs=True))
        for l, m in enumerate(cut.blocks):
            def post(mod, args, output, _l=l):
                cut.outputs[_l] = len(output) if isinstance(output, tuple) else 0
            handles.append(m.register_forward_hook(post))
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, seen


@contextlib.contextmanager
def resumed(cut: Cut, block: int, stream: torch.Tensor, copies: int = 1) -> Iterator[None]:
    """Within the block, a forward pass over ``copies`` repeats of the inputs skips blocks
    ``0 .. block-1`` and starts ``block`` from ``stream`` (``[B, ...]``, as ``capture_inputs``
    recorded it) repeated ``copies`` times. The blocks are restored on exit, even on error."""
    from einops import repeat

    start = repeat(stream, "b ... -> (j b) ...", j=copies) if copies > 1 else stream
    skipped = cut.blocks[:block]
    saved = [m.__dict__.get("forward") for m in skipped]

    def through(*args, **kwargs):
        # the block's input handed on unchanged: nothing after reads it before `block` replaces it
        return _hidden_of(args, kwargs)

    def enter(mod, args, kwargs):
        if args:
            return (start, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": start}

    handle = cut.blocks[block].register_forward_pre_hook(enter, with_kwargs=True)
    try:
        for l, m in enumerate(skipped):
            # on the instance itself: a wrapper (a TransformerLens bridge component) may pass
            # attribute writes on to the module it wraps
            object.__setattr__(m, "forward", _matching(cut.outputs.get(l, 0), through))
        yield
    finally:
        handle.remove()
        for m, f in zip(skipped, saved):
            if f is None:
                m.__dict__.pop("forward", None)
            else:
                object.__setattr__(m, "forward", f)


def _matching(length: int, through):
    """``through``, returning a tuple of ``length`` (the hidden state, then None) where the
    block returns one (Hugging Face layers of some architectures return ``(hidden, ...)``)."""
    def forward(*args, **kwargs):
        h = through(*args, **kwargs)
        return (h, *([None] * (length - 1))) if length else h
    return forward
