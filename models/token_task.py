"""Token tasks: subtasks of a language model given as sets of token sequences, with the
positions whose next-token loss counts.

A sample is one sequence (padded with ``pad_id`` to the longest one). The loss at position
``p`` is the cross-entropy of predicting token ``p`` from the tokens before it, read from
the logits at ``p - 1``; ``positions[k][i]`` lists the positions that count for sequence ``i``
of subtask ``k`` (None: every position from 1 on). Batches hold ``x [n, L]`` token ids,
``y [n, L]`` the target id at each logit position (-1 where nothing counts) and the subtask
of each sequence.

>>> import torch
>>> task = TokenTask(sequences=(((1, 2, 3), (1, 2, 4)), ((5, 6, 7, 8),)), names=("count", "other"),
...                  positions=(((2,), (2,)), None))
>>> batch = task.eval_batch(3, torch.Generator().manual_seed(0))
>>> batch.x.tolist(), batch.y.tolist(), batch.subtask.tolist()
([[1, 2, 3, 0], [1, 2, 4, 0], [5, 6, 7, 8]], [[-1, 3, -1, -1], [-1, 4, -1, -1], [6, 7, 8, -1]], [0, 0, 1])
>>> task.subtask_losses(torch.zeros(3, 4, 10), batch).shape       # uniform logits: log(10) each
torch.Size([2])
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .tasks import Batch, Task, _register
from .validate import check, is_number


@_register
@dataclass(frozen=True)
class TokenTask(Task):
    """Subtasks of a language model. ``sequences[k]``: subtask k's token sequences;
    ``positions[k]`` (or None for all): per sequence, the positions whose loss counts;
    ``names``: subtask names (default ``subtask0``, ...); ``subtask_weights``: each subtask's weight
    in the composite loss (default equal); ``d_vocab``: the vocabulary size (default: the
    largest id + 1; set it to the model's); ``pad_id`` pads shorter sequences."""

    sequences: tuple
    positions: tuple | None = None
    names: tuple | None = None
    subtask_weights: tuple | None = None
    d_vocab: int | None = None
    pad_id: int = 0

    def __post_init__(self):
        seqs = _tuplify(self.sequences)
        check(isinstance(seqs, tuple) and len(seqs) > 0, "sequences", self.sequences,
              "a non-empty tuple of subtasks, each a non-empty tuple of token sequences")
        for k, group in enumerate(seqs):
            check(isinstance(group, tuple) and len(group) > 0, "sequences", self.sequences,
                  f"subtask {k} to hold at least one token sequence")
            for s in group:
                check(isinstance(s, tuple) and len(s) >= 2 and all(isinstance(t, int) and t >= 0 for t in s),
                      "sequences", s, "sequences of at least 2 non-negative integer token ids")
        object.__setattr__(self, "sequences", seqs)
        K = len(seqs)
        if self.positions is not None:
            pos = _tuplify(self.positions)
            check(isinstance(pos, tuple) and len(pos) == K, "positions", self.positions,
                  f"None or one entry per subtask ({K})")
            for k, (group, p) in enumerate(zip(seqs, pos)):
                if p is None:
                    continue
                check(isinstance(p, tuple) and len(p) == len(group), "positions", self.positions,
                      f"for subtask {k}: None or one tuple of positions per sequence ({len(group)})")
                for s, ps in zip(group, p):
                    ok = isinstance(ps, tuple) and len(ps) > 0 and all(isinstance(i, int) and 1 <= i < len(s) for i in ps)
                    check(ok, "positions", ps, f"positions in [1, {len(s) - 1}] of the sequence {s} (at least one)")
            object.__setattr__(self, "positions", pos)
        if self.names is not None:
            names = tuple(self.names)
            check(len(names) == K and len(set(names)) == K and all(isinstance(n, str) for n in names), "names",
                  self.names, f"{K} distinct strings")
            object.__setattr__(self, "names", names)
        if self.subtask_weights is not None:
            ok = isinstance(self.subtask_weights, (tuple, list)) and all(is_number(v) for v in self.subtask_weights)
            w = tuple(float(v) for v in self.subtask_weights) if ok else ()
            check(ok and len(w) == K and all(v >= 0 and math.isfinite(v) for v in w) and sum(w) > 0,
                  "subtask_weights", self.subtask_weights, f"{K} finite numbers ≥ 0, not all 0")
            object.__setattr__(self, "subtask_weights", w)
        top = max(t for group in seqs for s in group for t in s)
        if self.d_vocab is not None:
            check(isinstance(self.d_vocab, int) and self.d_vocab > max(top, self.pad_id), "d_vocab", self.d_vocab,
                  f"an integer above every token id (largest {max(top, self.pad_id)})")
        check(isinstance(self.pad_id, int) and self.pad_id >= 0, "pad_id", self.pad_id, "a token id ≥ 0")

    # -- shape ---------------------------------------------------------------------------
    @property
    def d_in(self) -> int:
        """The sequence length (every sample is padded to it)."""
        return max(len(s) for group in self.sequences for s in group)

    @property
    def d_out(self) -> int:
        if self.d_vocab is not None:
            return self.d_vocab
        return max(self.pad_id, *(t for group in self.sequences for s in group for t in s)) + 1

    @property
    def subtasks(self) -> tuple[str, ...]:
        return self.names if self.names is not None else tuple(f"subtask{k}" for k in range(len(self.sequences)))

    @property
    def weights(self) -> torch.Tensor:
        w = torch.tensor(self.subtask_weights if self.subtask_weights is not None else [1.0] * len(self.sequences))
        return w / w.sum()

    # -- description -----------------------------------------------------------------------
    def summary(self) -> str:
        """One line: per subtask its sequences and counted tokens, and the vocabulary size
        (never the token ids themselves).

        >>> TokenTask(sequences=(((1, 2, 3),), ((4, 5), (6, 7))), names=("a", "b")).summary()
        'TokenTask(a: 1 seq, 2 counted tokens; b: 2 seq, 2 counted tokens; length 3, d_vocab 8)'
        """
        parts = []
        for k, (name, group) in enumerate(zip(self.subtasks, self.sequences)):
            if self.positions is None or self.positions[k] is None:
                counted = sum(len(s) - 1 for s in group)
            else:
                counted = sum(len(p) for p in self.positions[k])
            w = "" if self.subtask_weights is None else f", weight {self.weights[k].item():.3g}"
            parts.append(f"{name}: {len(group)} seq, {counted} counted tokens{w}")
        return f"TokenTask({'; '.join(parts)}; length {self.d_in}, d_vocab {self.d_out})"

    def __repr__(self) -> str:
        return self.summary()

    @classmethod
    def from_texts(cls, texts: dict, tokenizer, seq_len: int = 64, max_sequences: int | None = None,
                   d_vocab: int | None = None) -> "TokenTask":
        """Subtasks from text: ``texts`` maps a subtask name to its strings; each string is
        tokenized with ``tokenizer.encode`` (no special tokens) and cut into windows of
        ``seq_len`` tokens (a shorter tail of at least 2 tokens is kept), at most
        ``max_sequences`` per subtask. Every position from 1 on counts.

        >>> class Chars:                      # any object with encode(text) -> ids
        ...     def encode(self, text, add_special_tokens=False):
        ...         return [ord(c) - 96 for c in text]
        >>> TokenTask.from_texts({"abc": ["abcabc"], "xyz": ["xyzx"]}, Chars(), seq_len=4).summary()
        'TokenTask(abc: 2 seq, 4 counted tokens; xyz: 1 seq, 3 counted tokens; length 4, d_vocab 27)'
        """
        check(isinstance(texts, dict) and texts and all(isinstance(v, (list, tuple)) and v for v in texts.values()),
              "texts", type(texts).__name__, "a dict: subtask name -> non-empty list of strings")
        check(hasattr(tokenizer, "encode"), "tokenizer", type(tokenizer).__name__, "an object with encode(text)")
        check(isinstance(seq_len, int) and seq_len >= 2, "seq_len", seq_len, "an integer ≥ 2")
        check(max_sequences is None or (isinstance(max_sequences, int) and max_sequences >= 1), "max_sequences",
              max_sequences, "None or an integer ≥ 1")
        groups = []
        for name, strings in texts.items():
            seqs = []
            for text in strings:
                check(isinstance(text, str), "texts", f"{name}: {type(text).__name__}", "strings")
                ids = list(tokenizer.encode(text, add_special_tokens=False))
                seqs += [tuple(int(t) for t in ids[i:i + seq_len]) for i in range(0, len(ids), seq_len)
                         if len(ids[i:i + seq_len]) >= 2]
            check(len(seqs) > 0, "texts", name, "texts of at least 2 tokens for every subtask")
            groups.append(tuple(seqs[:max_sequences]))
        return cls(sequences=tuple(groups), names=tuple(texts), d_vocab=d_vocab)

    # -- data ----------------------------------------------------------------------------
    def _rows(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every sequence once: tokens ``[S, L]``, targets ``[S, L]``, subtask ``[S]``."""
        L = self.d_in
        xs, ys, ks = [], [], []
        for k, group in enumerate(self.sequences):
            for i, s in enumerate(group):
                counted = range(1, len(s)) if self.positions is None or self.positions[k] is None \
                    else self.positions[k][i]
                x = list(s) + [self.pad_id] * (L - len(s))
                y = [-1] * L
                for p in counted:
                    y[p - 1] = s[p]
                xs.append(x)
                ys.append(y)
                ks.append(k)
        return torch.tensor(xs), torch.tensor(ys), torch.tensor(ks)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` sequences: a subtask drawn by its weight, then one of its sequences uniformly."""
        x, y, k = self._rows()
        sub = torch.multinomial(self.weights.double(), n, replacement=True, generator=generator)
        starts = torch.tensor([0, *torch.tensor([len(g) for g in self.sequences]).cumsum(0).tolist()])
        sizes = starts[1:] - starts[:-1]
        pick = starts[sub] + (torch.rand(n, generator=generator) * sizes[sub]).long().clamp_max(sizes[sub] - 1)
        return Batch(x[pick], y[pick], k[pick])

    def eval_batch(self, n: int, generator: torch.Generator) -> Batch:
        """Every sequence once (when ``n`` covers them; else an even sample of ``n``)."""
        x, y, k = self._rows()
        if n >= x.shape[0]:
            return Batch(x, y, k)
        idx = torch.randperm(x.shape[0], generator=generator)[:n].sort().values
        return Batch(x[idx], y[idx], k[idx])

    def eval_count(self, n: int) -> int:
        return min(n, sum(len(g) for g in self.sequences))

    def subtask_losses(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over each subtask's counted positions: ``pred [..., n, L, V]`` ->
        ``[..., K]`` (0 for a subtask absent from the batch)."""
        K = len(self.sequences)
        y = batch.y
        counted = y >= 0
        logp = pred.log_softmax(-1)
        tok = y.clamp_min(0).expand(*pred.shape[:-1])
        nll = -logp.gather(-1, tok.unsqueeze(-1)).squeeze(-1) * counted.to(pred.dtype)  # [..., n, L]
        per_seq = nll.sum(-1)  # [..., n]
        onehot = torch.nn.functional.one_hot(batch.subtask, K).to(pred.dtype)  # [n, K]
        n_pos = (counted.sum(-1).to(pred.dtype) @ onehot).clamp_min(1)  # [K]
        return (per_seq @ onehot) / n_pos

    def to_config(self) -> dict:
        return {"type": "TokenTask", "sequences": _listify(self.sequences), "positions": _listify(self.positions),
                "names": _listify(self.names), "subtask_weights": _listify(self.subtask_weights),
                "d_vocab": self.d_vocab, "pad_id": self.pad_id}


def _tuplify(v):
    if isinstance(v, (list, tuple)):
        return tuple(_tuplify(u) for u in v)
    if isinstance(v, torch.Tensor):
        return _tuplify(v.tolist())
    return v


def _listify(v):
    return [_listify(u) for u in v] if isinstance(v, (list, tuple)) else v
