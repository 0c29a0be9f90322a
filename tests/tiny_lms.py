"""Tiny randomly initialised Hugging Face language models for the tests: ``tiny_gpt2``,
``tiny_llama`` (saved with a small word-level tokenizer when given a folder), so the bridge
and the LM analyses are tested on real architectures without downloads."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

import probes
from interp.lm import word_tokenizer


def _built(model: nn.Module, folder: str | Path | None, seed_vocab: int) -> nn.Module:
    model.eval()
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(folder))
        word_tokenizer(seed_vocab).save_pretrained(str(folder))
    return model


def tiny_gpt2(folder: str | Path | None = None, *, n_layer: int = 2, n_embd: int = 32, n_head: int = 4,
              n_inner: int | None = None, vocab_size: int = 64, n_positions: int = 32, seed: int = 0) -> nn.Module:
    """A randomly initialised ``GPT2LMHeadModel`` (eval mode); saved to ``folder`` with a
    word-level tokenizer when given. ``n_inner`` (the MLP width) defaults to ``4·n_embd``."""
    config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_inner=n_inner, vocab_size=vocab_size,
                        n_positions=n_positions)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config)
    return _built(model, folder, vocab_size)


def tiny_llama(folder: str | Path | None = None, *, n_layer: int = 2, d_model: int = 32, n_head: int = 4,
               n_kv_head: int = 2, d_mlp: int = 64, vocab_size: int = 64, n_positions: int = 64,
               seed: int = 0) -> nn.Module:
    """A randomly initialised ``LlamaForCausalLM`` (RMSNorm, rotary positions, gated SiLU MLP
    of ``d_mlp`` neurons, grouped-query attention); saved to ``folder`` with a word-level
    tokenizer when given."""
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=d_mlp,
                         num_hidden_layers=n_layer, num_attention_heads=n_head, num_key_value_heads=n_kv_head,
                         max_position_embeddings=n_positions, bos_token_id=1, eos_token_id=1, pad_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return _built(model, folder, vocab_size)


def low_high_task(vocab: int, split: int, start: int = 0, n_seq: int = 4, length: int = 6, seed: int = 0):
    """A ``TokenTask`` of two subtasks: ``n_seq`` random sequences of token ids in
    ``[start, split)`` ("low") and in ``[split, vocab)`` ("high")."""
    from models.token_task import TokenTask

    g = torch.Generator().manual_seed(seed)
    low = tuple(tuple(torch.randint(start, split, (length,), generator=g).tolist()) for _ in range(n_seq))
    high = tuple(tuple(torch.randint(split, vocab, (length,), generator=g).tolist()) for _ in range(n_seq))
    return TokenTask(sequences=(low, high), names=("low", "high"), d_vocab=vocab)


def manual_ablation(bridge, task, batch, site, neuron):
    """The reference the allocation scores are checked against, by hand: each subtask's relative
    loss change when ``neuron`` at ``site`` is set to its mean over ``batch`` (TransformerLens
    hooks, one whole forward pass)."""
    acts = probes.capture(bridge, batch.x, sites=[site], stats=("mean",))
    mu = acts[site].mean[neuron].float()

    def hook(act, hook):
        act = act.clone()
        act[..., neuron] = mu
        return act
    with torch.no_grad():
        base = task.subtask_losses(bridge(batch.x), batch)
        ablated = task.subtask_losses(bridge.run_with_hooks(batch.x, fwd_hooks=[(site, hook)]), batch)
    return ((ablated - base) / base).numpy()


def pattern_task(vocab: int = 32, n_seq: int = 16, length: int = 16, seed: int = 0):
    """A ``TokenTask`` a small LM can learn: ``count`` (runs ``i, i+1, ...`` modulo ``vocab``
    from a random start) and ``repeat`` (a random half, then the same half again)."""
    from models.token_task import TokenTask

    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, vocab, (n_seq, 1), generator=g)
    count = (start + torch.arange(length)) % vocab
    half = torch.randint(0, vocab, (n_seq, length // 2), generator=g)
    repeat = torch.cat([half, half], 1)
    as_tuples = lambda t: tuple(tuple(r) for r in t.tolist())  # noqa: E731
    return TokenTask(sequences=(as_tuples(count), as_tuples(repeat)), names=("count", "repeat"), d_vocab=vocab)


def trained_tiny_llama(steps: int = 300, seed: int = 0, **kw) -> nn.Module:
    """``tiny_llama`` trained on fresh ``pattern_task`` draws (next-token cross-entropy, Adam)
    for ``steps`` steps: a model whose neurons do serve its subtasks. A second of CPU a hundred
    steps at the default size."""
    kw = {"n_layer": 2, "d_model": 32, "d_mlp": 64, "vocab_size": 32, **kw}
    model = tiny_llama(seed=seed, **kw)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for step in range(steps):
            t = pattern_task(kw["vocab_size"], n_seq=16, seed=1000 * seed + step + 1)
            x = t.eval_batch(10 ** 6, torch.Generator().manual_seed(step)).x
            loss = model(x, labels=x).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model
