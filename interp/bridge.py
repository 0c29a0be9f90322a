"""TransformerLens 4 bridges, built locally: nothing here downloads.

- ``boot_native(...)``: a TransformerLens-native transformer (``TransformerBridge.boot_native``).
- ``tiny_gpt2(...)``: a randomly initialised Hugging Face ``GPT2LMHeadModel`` (optionally saved
  to a folder with ``save_pretrained``), for tests and benchmarks.
- ``load_hf(folder)``: a Hugging Face causal LM loaded from a local folder
  (``local_files_only``) and wrapped with ``build_bridge_from_module``.
- ``wrap_hf(model)``: wrap an already-built Hugging Face model.

MLP neurons sit at ``blocks.{l}.mlp.hook_post`` (``[batch, pos, d_mlp]``); ``neuron_sites``
lists them, so ``interp.allocate(bridge, token_task)`` and ``probes.capture(bridge, tokens)``
work as on the zoo.

>>> bridge = boot_native(n_layers=2, d_model=32, d_mlp=64, d_vocab=50, n_ctx=16)
>>> list(neuron_sites(bridge))
['blocks.0.mlp.hook_post', 'blocks.1.mlp.hook_post']
"""
from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from models.validate import check
from probes import neuron_sites  # noqa: F401  (re-exported: the bridge's MLP neuron sites)


def boot_native(n_layers: int = 2, d_model: int = 32, n_heads: int = 4, d_mlp: int | None = None, d_vocab: int = 64,
                n_ctx: int = 32, act_fn: str = "gelu", normalization_type: str = "LN", seed: int = 0, **cfg):
    """A TransformerLens-native transformer bridge with random weights drawn from ``seed``
    (``d_head = d_model // n_heads``, ``d_mlp`` default ``4·d_model``). Extra keyword arguments
    go to ``TransformerBridgeConfig``.

    >>> boot_native(n_layers=1, d_model=16, n_heads=2, d_vocab=20).cfg.d_mlp
    64
    """
    from transformer_lens import TransformerBridge
    from transformer_lens.config import TransformerBridgeConfig

    for name, v in (("n_layers", n_layers), ("d_model", d_model), ("n_heads", n_heads), ("d_vocab", d_vocab),
                    ("n_ctx", n_ctx)):
        check(isinstance(v, int) and v >= 1, name, v, "an integer ≥ 1")
    check(d_model % n_heads == 0, "n_heads", n_heads, f"a divisor of d_model={d_model}")
    config = TransformerBridgeConfig(n_layers=n_layers, d_model=d_model, n_ctx=n_ctx, d_head=d_model // n_heads,
                                     n_heads=n_heads, d_mlp=d_mlp or 4 * d_model, d_vocab=d_vocab, act_fn=act_fn,
                                     normalization_type=normalization_type, seed=seed, **cfg)
    bridge = TransformerBridge.boot_native(config)
    bridge.eval()
    return bridge


def tiny_gpt2(folder: str | Path | None = None, *, n_layer: int = 2, n_embd: int = 32, n_head: int = 4,
              n_inner: int | None = None, vocab_size: int = 64, n_positions: int = 32, seed: int = 0) -> nn.Module:
    """A randomly initialised ``GPT2LMHeadModel`` (eval mode); saved to ``folder`` with
    ``save_pretrained`` when given. ``n_inner`` (the MLP width) defaults to ``4·n_embd``.

    >>> tiny_gpt2(n_layer=1, n_embd=16, n_head=2).config.n_layer
    1
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_inner=n_inner, vocab_size=vocab_size,
                        n_positions=n_positions)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config)
    model.eval()
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(folder))
    return model


def is_hf_folder(folder: str | Path) -> bool:
    """True when ``folder`` holds a Hugging Face model (a ``config.json`` naming its architectures)."""
    cfg = Path(folder) / "config.json"
    if not cfg.is_file():
        return False
    try:
        return "architectures" in json.loads(cfg.read_text()) or "model_type" in json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False


def load_hf(folder: str | Path, architecture: str | None = None):
    """A bridge around the Hugging Face causal LM saved in the local ``folder`` (never the hub).
    ``architecture`` defaults to the first name in the folder's ``config.json``
    ``architectures`` (e.g. ``GPT2LMHeadModel``).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = tiny_gpt2(folder, n_layer=1, n_embd=16, n_head=2)
    >>> list(neuron_sites(load_hf(folder)))
    ['blocks.0.mlp.hook_post']
    """
    folder = Path(folder)
    check(folder.is_dir() and (folder / "config.json").is_file(), "folder", str(folder),
          "a local folder holding a Hugging Face model (config.json and weights)")
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    arch = architecture or (config.architectures or [None])[0]
    check(arch is not None, "architecture", architecture,
          "an architecture name (e.g. 'GPT2LMHeadModel'); the folder's config.json names none")
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
    return wrap_hf(model, arch)


def wrap_hf(model: nn.Module, architecture: str | None = None):
    """A ``TransformerBridge`` around an already-built Hugging Face model (modified in place).

    >>> list(neuron_sites(wrap_hf(tiny_gpt2(n_layer=1, n_embd=16, n_head=2))))
    ['blocks.0.mlp.hook_post']
    """
    from transformer_lens.model_bridge.sources._bridge_builder import build_bridge_from_module

    config = getattr(model, "config", None)
    check(config is not None, "model", type(model).__name__, "a Hugging Face model (with .config)")
    arch = architecture or (getattr(config, "architectures", None) or [type(model).__name__])[0]
    model.eval()
    bridge = build_bridge_from_module(model, arch, hf_config=config)
    bridge.eval()
    return bridge
