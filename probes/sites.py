"""Named activation sites: finding a model's neurons and hooking into them.

A *site* is a named place whose output holds neurons on its last axis. Three kinds of
model are served by one path:

- zoo models (``models.MLP``, ``models.Ensemble``, ``models.ParityTransformer``) list their
  neuron sites in ``.sites`` (``hidden.0``, ``blocks.0.mlp.hook_post``, ...);
- TransformerLens 4 bridges (``TransformerBridge``) and any ``HookedRootModule``: any name of
  ``hook_dict`` (aliases included); the default neuron sites are ``blocks.{l}.mlp.hook_post``;
- any plain ``nn.Module``: any submodule name from ``named_modules()``; the default neuron
  sites are its activation modules (``nn.ReLU``, ``nn.SiLU``, ``nn.GELU``, ...).

>>> import models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(8, 4), d_out=1))
>>> neuron_sites(net)
{'hidden.0': 8, 'hidden.1': 4}
"""
from __future__ import annotations

import contextlib
import re
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from models.mlp import n_members
from models.validate import check

ACTIVATION_MODULES = (nn.ReLU, nn.SiLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.Softplus, nn.Mish,
                      nn.Hardswish, nn.ReLU6, nn.SELU, nn.CELU, nn.GLU)

_MLP_POST = re.compile(r"^blocks\.(\d+)\.mlp\.hook_post$")


def mlp_weights(model: nn.Module) -> list[torch.Tensor] | None:
    """The weight matrices of a zoo MLP (or ensemble) as ``[(M,) fan_in, fan_out]``, on the CPU;
    None for other models.

    >>> from models import MLP, MLPConfig
    >>> [tuple(w.shape) for w in mlp_weights(MLP(MLPConfig(2, (8,), 1)))]
    [(2, 8), (8, 1)]
    """
    if n_members(model) is not None and hasattr(model, "weight") and hasattr(model, "hidden"):
        return [w.detach().cpu() for w in model.weight]
    layers = getattr(model, "layers", None)
    if isinstance(layers, nn.ModuleList) and layers and all(isinstance(l, nn.Linear) for l in layers) \
            and hasattr(model, "hidden"):
        return [l.weight.detach().cpu().T for l in layers]
    return None


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU when it has none)."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def to_device(piece, device: torch.device):
    """A tensor, or each tensor of a ``Batch``/tuple, moved to ``device``."""
    if isinstance(piece, torch.Tensor):
        return piece.to(device)
    return type(piece)(*(t.to(device) if isinstance(t, torch.Tensor) else t for t in piece))


def hook_dict(model: nn.Module) -> dict | None:
    """The model's TransformerLens hook points by name (``model.hook_dict``), or None for a
    plain module."""
    try:
        hd = model.hook_dict
    except Exception:  # noqa: BLE001 - a module without a working hook_dict is a plain module
        return None
    return hd if isinstance(hd, dict) else None


def _cfg(model: nn.Module):
    return getattr(model, "cfg", None)


def neuron_sites(model: nn.Module) -> dict[str, int | None]:
    """The model's default neuron sites and their widths (None where unknown until run).

    ``.sites`` of a zoo model; ``blocks.{l}.mlp.hook_post`` of a TransformerLens model (its
    ``cfg.d_mlp`` wide); the activation modules of a plain ``nn.Module``. Empty when none.

    >>> import torch.nn as nn
    >>> neuron_sites(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    {'1': None}
    """
    sites = getattr(model, "sites", None)
    if isinstance(sites, dict) and sites:
        return {str(k): (int(v) if v is not None else None) for k, v in sites.items()}
    hd = hook_dict(model)
    if hd:
        found = sorted((int(m.group(1)), name) for name in hd if (m := _MLP_POST.match(name)))
        if found:
            d_mlp = getattr(_cfg(model), "d_mlp", None)
            return {name: (int(d_mlp) if isinstance(d_mlp, int) and d_mlp > 0 else None) for _, name in found}
    return {name: None for name, mod in model.named_modules() if name and isinstance(mod, ACTIVATION_MODULES)}


def available_sites(model: nn.Module) -> list[str]:
    """Every name ``capture`` accepts on this model: hook points (aliases included) and modules."""
    names = list(hook_dict(model) or {})
    seen = set(names)
    names += [n for n, _ in model.named_modules() if n and n not in seen]
    return names


def _describe(model: nn.Module) -> str:
    default = list(neuron_sites(model))
    names = available_sites(model)
    extra = [n for n in names if n not in default]
    shown = ", ".join(repr(n) for n in extra[:12])
    more = f" and {len(extra) - 12} more" if len(extra) > 12 else ""
    return f"a site of this model: its neuron sites {default}, or another hook/module name ({shown}{more})"


def resolve(model: nn.Module, name: str) -> nn.Module:
    """The module (HookPoint or submodule) named ``name``; a ``ValueError`` lists the names that exist."""
    check(isinstance(name, str), "sites", name, "site names (strings)")
    hd = hook_dict(model)
    if hd and name in hd:
        return hd[name]
    mods = dict(model.named_modules())
    if name in mods and name:
        return mods[name]
    raise ValueError(f"sites={name!r} is not allowed: expected {_describe(model)}")


def resolve_sites(model: nn.Module, sites: str | Sequence[str] | None) -> list[str]:
    """Validated site names: ``None`` gives the default neuron sites (a ``ValueError`` when the
    model has none), a string one site, a sequence several."""
    if sites is None:
        names = list(neuron_sites(model))
        check(len(names) > 0, "model", type(model).__name__,
              "a model with neuron sites (a zoo model, a TransformerLens model with blocks.{l}.mlp.hook_post, "
              "or an nn.Module with activation modules); or pass sites=[...] by name")
        return names
    names = [sites] if isinstance(sites, str) else list(sites)
    check(len(names) > 0, "sites", sites, "at least one site name")
    for n in names:
        resolve(model, n)
    check(len(set(names)) == len(names), "sites", sites, "distinct site names")
    return names


def _tensor_of(output):
    """The activation tensor inside a module's output (the first tensor of a tuple)."""
    if isinstance(output, torch.Tensor):
        return output, None
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0], type(output)
    raise TypeError(f"a site's output must be a tensor (or a tuple starting with one), got {type(output).__name__}")


HookFn = Callable[[str, torch.Tensor], "torch.Tensor | None"]


@contextlib.contextmanager
def attached(model: nn.Module, sites: Sequence[str], fn: HookFn) -> Iterator[None]:
    """Within the block, ``fn(site, activation)`` runs at each site on every forward pass; a
    tensor it returns replaces the activation (anything else is ignored). Hooks are removed on exit, even on error.

    >>> import torch, models
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(3,), d_out=1))
    >>> seen = {}
    >>> with attached(net, ["hidden.0"], lambda s, a: seen.setdefault(s, a.shape)):
    ...     _ = net(torch.zeros(5, 1))
    >>> seen
    {'hidden.0': torch.Size([5, 3])}
    """
    from transformer_lens.hook_points import HookPoint

    removers = []
    try:
        for site in sites:
            module = resolve(model, site)
            if isinstance(module, HookPoint):
                def hook(act, hook, _site=site):
                    new = fn(_site, act)
                    return new if isinstance(new, torch.Tensor) else None
                # add_hook's return value is not relied on (TransformerLens' main branch returns
                # None): the handle is the one entry it appended to ``fwd_hooks``.
                before = list(module.fwd_hooks)
                module.add_hook(hook)
                handle, = (h for h in module.fwd_hooks if all(h is not b for b in before))

                def remove(_m=module, _h=handle):
                    _h.hook.remove()
                    _m.fwd_hooks = [h for h in _m.fwd_hooks if h is not _h]
                removers.append(remove)
            else:
                def pt_hook(mod, inputs, output, _site=site):
                    act, kind = _tensor_of(output)
                    new = fn(_site, act)
                    if not isinstance(new, torch.Tensor):
                        return None
                    return new if kind is None else kind((new, *output[1:]))
                removers.append(module.register_forward_hook(pt_hook).remove)
        yield
    finally:
        for r in reversed(removers):
            r()


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Evaluation mode (no dropout) within the block; the training flags are restored after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, f in flags:
            m.training = f
