"""Token tasks: subtasks of a language model given as sets of token sequences, with the
positions whose next-token loss counts.

A sample is one sequence (padded with ``pad_id`` to the longest one). The loss at position
``p`` is the cross-entropy of predicting token ``p`` from the tokens before it, read from
the logits at ``p - 1``; ``positions[k][i]`` lists the positions that count for sequence ``i``
of subtask ``k`` (None: every position from 1 on). Batches hold ``x [n, L]`` token ids,
``y [n, L]`` the target id at each logit position (-1 where nothing counts) and the subtask
of each sequence.

The token ids are held as tensors (``tokens [S, L]``, ``lengths [S]``, ``subtask [S]``,
``counted [S, L]``), so a task of 10^6 tokens builds in seconds and samples without Python
loops; a checkpoint keeps them in ``task_data.safetensors`` and its config holds only the
settings and a digest.

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

import torch

from .tasks import Batch, HeldDataTask, check_subtask_weights, digest, register_built_in
from .validate import check, check_positive, is_int

TENSORS = ("tokens", "lengths", "subtask", "counted")


def next_token_losses(pred: torch.Tensor, batch: Batch, K: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The next-token losses of a batch in ``TokenTask``'s layout (``x [n, L]`` ids, ``y [n, L]``
    the target at each logit position, -1 where nothing counts, ``subtask [n]`` in ``[0, K)``):
    per sequence its summed cross-entropy over the counted positions, in its subtask's column
    ``[..., n, K]``, and its counted positions as the weight ``[n, K]``, for ``pred [..., n, L, V]``
    (a subtask's loss: the first summed over sequences over the second). Only the counted
    positions' logits are normalised."""
    y = batch.y
    counted = y >= 0                                                            # [n, L]
    where = counted.nonzero(as_tuple=True)
    logits = pred[(Ellipsis, *where, slice(None))]                              # [..., c, V]
    nll = torch.logsumexp(logits, -1) - logits.gather(-1, y[where].expand(*logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    per_seq = pred.new_zeros(*pred.shape[:-2]).index_add_(-1, where[0], nll)    # [..., n]
    onehot = torch.nn.functional.one_hot(batch.subtask, K).to(pred.dtype)      # [n, K]
    return per_seq.unsqueeze(-1) * onehot, counted.sum(-1).to(pred.dtype).unsqueeze(-1) * onehot


class TokenTask(HeldDataTask):
    """Subtasks of a language model. ``sequences[k]``: subtask k's token sequences (tuples or
    lists of ints, or one tensor ``[n_k, L]`` per subtask); ``positions[k]`` (or None for all):
    per sequence, the positions whose loss counts; ``names``: subtask names (default
    ``subtask0``, ...); ``subtask_weights``: each subtask's weight in the composite loss
    (default equal); ``d_vocab``: the vocabulary size, which must be the model's output size
    (``from_texts`` takes it from the tokenizer or the model; default here: the largest id + 1);
    ``pad_id`` pads shorter sequences. ``TokenTask.from_tensors`` builds one from tensors
    directly."""

    def __init__(self, sequences, positions=None, names=None, subtask_weights=None, d_vocab: int | None = None,
                 pad_id: int = 0):
        check(is_int(pad_id) and pad_id >= 0, "pad_id", pad_id, "a token id ≥ 0")
        groups = _groups(sequences)
        K = len(groups)
        if positions is not None:
            check(isinstance(positions, (tuple, list)) and len(positions) == K, "positions", positions,
                  f"None or one entry per subtask ({K})")
        seqs, ks, pos = [], [], []
        for k, group in enumerate(groups):
            p = None if positions is None else positions[k]
            if p is not None:
                check(isinstance(p, (tuple, list)) and len(p) == len(group), "positions", positions,
                      f"for subtask {k}: None or one tuple of positions per sequence ({len(group)})")
            for i, s in enumerate(group):
                seqs.append(s)
                ks.append(k)
                pos.append(None if p is None else p[i])
        lengths = torch.tensor([len(s) for s in seqs])
        tokens = _padded(seqs, int(lengths.max()), pad_id)
        counted = torch.arange(tokens.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        counted[:, 0] = False
        for i, ps in enumerate(pos):
            if ps is None:
                continue
            n = int(lengths[i])
            ok = isinstance(ps, (tuple, list)) and len(ps) > 0 and all(is_int(j) and 1 <= j < n for j in ps)
            check(ok, "positions", ps, f"positions in [1, {n - 1}] of the sequence {_describe(seqs[i])} "
                                       f"(at least one)")
            counted[i] = False
            counted[i, list(ps)] = True
        self._set(tokens, lengths, torch.tensor(ks), counted, K, names, subtask_weights, d_vocab, pad_id)

    @classmethod
    def from_tensors(cls, tokens: torch.Tensor, lengths: torch.Tensor, subtask: torch.Tensor,
                     counted: torch.Tensor | None = None, *, names=None, subtask_weights=None,
                     d_vocab: int | None = None, pad_id: int = 0) -> "TokenTask":
        """A task from tensors: ``tokens [S, L]`` (padded with ``pad_id`` past each length),
        ``lengths [S]`` (≥ 2 each), ``subtask [S]`` in ``[0, K)`` (every subtask with a sequence),
        ``counted [S, L]`` bool, whether position p's token counts (default: every position from
        1 to the length). Checked with tensor operations, so 10^6 tokens take milliseconds.

        >>> t = TokenTask.from_tensors(torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2]),
        ...                            torch.tensor([0, 1]), names=("a", "b"))
        >>> t.summary()
        'TokenTask(a: 1 seq, 2 counted tokens; b: 1 seq, 1 counted tokens; length 3, d_vocab 6)'
        """
        check(is_int(pad_id) and pad_id >= 0, "pad_id", pad_id, "a token id ≥ 0")
        for name, t, dims in (("tokens", tokens, 2), ("lengths", lengths, 1), ("subtask", subtask, 1)):
            check(isinstance(t, torch.Tensor) and t.dim() == dims and not t.is_floating_point()
                  and t.dtype != torch.bool, name, _describe(t), f"an integer tensor of {dims} dimension(s)")
        S, L = tokens.shape
        check(S >= 1 and L >= 2, "tokens", _describe(tokens), "[S, L] with S ≥ 1 sequences of L ≥ 2 positions")
        check(lengths.shape == (S,) and int(lengths.min()) >= 2 and int(lengths.max()) <= L, "lengths",
              _describe(lengths), f"[{S}] lengths in [2, {L}]")
        check(subtask.shape == (S,) and int(subtask.min()) >= 0, "subtask", _describe(subtask),
              f"[{S}] subtask indices ≥ 0")
        K = int(subtask.max()) + 1
        inside = torch.arange(L).unsqueeze(0) < lengths.unsqueeze(1)
        if counted is None:
            counted = inside.clone()
            counted[:, 0] = False
        check(isinstance(counted, torch.Tensor) and counted.dtype == torch.bool and counted.shape == (S, L),
              "counted", _describe(counted), f"a bool tensor [{S}, {L}]")
        check(not bool(counted[:, 0].any()) and not bool((counted & ~inside).any()), "counted",
              "positions outside [1, length)", "positions in [1, length) of each sequence")
        check(bool(counted.any(1).all()), "counted", "a sequence with no counted position",
              "at least one counted position per sequence")
        task = cls.__new__(cls)
        task._set(tokens.long(), lengths.long(), subtask.long(), counted, K, names, subtask_weights, d_vocab, pad_id)
        return task

    def _set(self, tokens, lengths, subtask, counted, K, names, subtask_weights, d_vocab, pad_id) -> None:
        """Store the checked tensors (sequences grouped by subtask, in order) and settings."""
        check(int(tokens.min()) >= 0, "sequences", f"a token id {int(tokens.min())}", "non-negative integer token ids")
        present = torch.bincount(subtask, minlength=K)
        if not bool((present > 0).all()):
            check(False, "sequences", f"subtask {int((present == 0).nonzero()[0])} with no sequence",
                  "at least one sequence for every subtask")
        order = torch.sort(subtask, stable=True).indices
        self.tokens, self.lengths, self.subtask, self.counted = (t[order].contiguous()
                                                                 for t in (tokens, lengths, subtask, counted))
        self.pad_id = pad_id
        if names is not None:
            names = tuple(names)
            check(len(names) == K and len(set(names)) == K and all(isinstance(n, str) for n in names), "names",
                  names, f"{K} distinct strings")
        self.names = names
        self.subtask_weights = None if subtask_weights is None else check_subtask_weights(subtask_weights, K)
        top = max(int(self.tokens.max()), pad_id)
        if d_vocab is not None:
            check(is_int(d_vocab) and d_vocab > top, "d_vocab", d_vocab,
                  f"an integer above every token id (largest {top}): the model's output size")
        self.d_vocab = d_vocab
        self._top = top
        self._sizes = present
        self._starts = torch.cat([torch.zeros(1, dtype=torch.long), present.cumsum(0)[:-1]])
        y = torch.full_like(self.tokens, -1)
        y[:, :-1] = torch.where(self.counted[:, 1:], self.tokens[:, 1:], -1)
        self._y = y

    # -- shape ---------------------------------------------------------------------------
    @property
    def d_in(self) -> int:
        """The sequence length (every sample is padded to it)."""
        return self.tokens.shape[1]

    @property
    def d_out(self) -> int:
        return self.d_vocab if self.d_vocab is not None else self._top + 1

    @property
    def subtasks(self) -> tuple[str, ...]:
        K = len(self._sizes)
        return self.names if self.names is not None else tuple(f"subtask{k}" for k in range(K))

    @property
    def weights(self) -> torch.Tensor:
        w = torch.tensor(self.subtask_weights if self.subtask_weights is not None else [1.0] * len(self._sizes))
        return w / w.sum()

    def __len__(self) -> int:
        """The number of sequences."""
        return len(self.lengths)

    @property
    def n_tokens(self) -> int:
        """Counted tokens over all subtasks."""
        return int(self.counted.sum())

    @property
    def sequences(self) -> tuple:
        """The token ids as tuples per subtask (for small tasks and for reading; the task holds
        tensors)."""
        rows = [tuple(t[:n].tolist()) for t, n in zip(self.tokens, self.lengths.tolist())]
        return tuple(tuple(rows[s:s + n]) for s, n in zip(self._starts.tolist(), self._sizes.tolist()))

    @property
    def positions(self) -> tuple | None:
        """Per subtask, None when every position from 1 counts in each of its sequences, else
        per sequence the tuple of counted positions; None when that holds for every subtask."""
        full = torch.arange(self.d_in).unsqueeze(0) < self.lengths.unsqueeze(1)
        full[:, 0] = False
        if torch.equal(full, self.counted):
            return None
        out = []
        for s, n in zip(self._starts.tolist(), self._sizes.tolist()):
            part = self.counted[s:s + n]
            if torch.equal(part, full[s:s + n]):
                out.append(None)
            else:
                out.append(tuple(tuple(row.nonzero().flatten().tolist()) for row in part))
        return tuple(out)

    # -- description -----------------------------------------------------------------------
    def summary(self) -> str:
        """One line: per subtask its sequences and counted tokens, and the vocabulary size
        (never the token ids themselves).

        >>> TokenTask(sequences=(((1, 2, 3),), ((4, 5), (6, 7))), names=("a", "b")).summary()
        'TokenTask(a: 1 seq, 2 counted tokens; b: 2 seq, 2 counted tokens; length 3, d_vocab 8)'
        """
        per = self.counted.sum(1)
        parts = []
        for k, (name, s, n) in enumerate(zip(self.subtasks, self._starts.tolist(), self._sizes.tolist())):
            w = "" if self.subtask_weights is None else f", weight {self.weights[k].item():.3g}"
            parts.append(f"{name}: {n} seq, {int(per[s:s + n].sum())} counted tokens{w}")
        return f"TokenTask({'; '.join(parts)}; length {self.d_in}, d_vocab {self.d_out})"

    @classmethod
    def from_texts(cls, texts: dict, tokenizer, seq_len: int = 64, max_sequences: int | None = None,
                   d_vocab: int | None = None, model=None) -> "TokenTask":
        """Subtasks from text: ``texts`` maps a subtask name to its strings; each string is
        tokenized with ``tokenizer.encode`` (no special tokens) and cut into windows of
        ``seq_len`` tokens (a shorter tail of at least 2 tokens is kept), at most
        ``max_sequences`` per subtask. Every position from 1 on counts.

        The vocabulary size is ``d_vocab`` when given, else the ``model``'s output size
        (``model.cfg.d_vocab``, or ``model.config.vocab_size``), else the tokenizer's
        (``len(tokenizer)``, which counts added tokens), else the largest id + 1.

        >>> class Chars:                      # any object with encode(text) -> ids
        ...     def encode(self, text, add_special_tokens=False):
        ...         return [ord(c) - 96 for c in text]
        >>> TokenTask.from_texts({"abc": ["abcabc"], "xyz": ["xyzx"]}, Chars(), seq_len=4).summary()
        'TokenTask(abc: 2 seq, 4 counted tokens; xyz: 1 seq, 3 counted tokens; length 4, d_vocab 27)'
        """
        check(isinstance(texts, dict) and texts and all(isinstance(v, (list, tuple)) and v for v in texts.values()),
              "texts", type(texts).__name__, "a dict: subtask name -> non-empty list of strings")
        check(hasattr(tokenizer, "encode"), "tokenizer", type(tokenizer).__name__, "an object with encode(text)")
        check(is_int(seq_len) and seq_len >= 2, "seq_len", seq_len, "an integer ≥ 2")
        check(max_sequences is None or (is_int(max_sequences) and max_sequences >= 1), "max_sequences",
              max_sequences, "None or an integer ≥ 1")
        tokens, lengths, subtask = [], [], []
        for k, (name, strings) in enumerate(texts.items()):
            rows, lens = [], []
            for text in strings:
                check(isinstance(text, str), "texts", f"{name}: {type(text).__name__}", "strings")
                ids = torch.as_tensor(tokenizer.encode(text, add_special_tokens=False), dtype=torch.long).reshape(-1)
                full = ids.numel() // seq_len
                if full:
                    rows.append(ids[:full * seq_len].reshape(full, seq_len))
                    lens += [seq_len] * full
                tail = ids[full * seq_len:]
                if tail.numel() >= 2:
                    rows.append(torch.cat([tail, tail.new_zeros(seq_len - tail.numel())]).unsqueeze(0))
                    lens.append(tail.numel())
            check(len(lens) > 0, "texts", name, "texts of at least 2 tokens for every subtask")
            block, lens = torch.cat(rows)[:max_sequences], torch.tensor(lens)[:max_sequences]
            tokens.append(block)
            lengths.append(lens)
            subtask.append(torch.full((len(lens),), k))
        tokens, lengths = torch.cat(tokens), torch.cat(lengths)
        L = int(lengths.max())
        if d_vocab is None:
            d_vocab = vocab_size(model, tokenizer)
        return cls.from_tensors(tokens[:, :L], lengths, torch.cat(subtask), names=tuple(texts), d_vocab=d_vocab)

    # -- data ----------------------------------------------------------------------------
    def _rows(self, idx) -> Batch:
        return Batch(self.tokens[idx], self._y[idx], self.subtask[idx])

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` sequences: a subtask drawn by its weight, then one of its sequences uniformly."""
        check_positive("n", n, integer=True)
        sub = torch.multinomial(self.weights.double(), n, replacement=True, generator=generator)
        sizes = self._sizes[sub]
        pick = self._starts[sub] + (torch.rand(n, generator=generator) * sizes).long().clamp_max(sizes - 1)
        return self._rows(pick)

    def sample_losses(self, pred: torch.Tensor, batch: Batch, lead: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Per sequence: the summed cross-entropy over its counted positions in its subtask's
        column ``[..., n, K]``, and its counted positions as the weight ``[n, K]`` (see
        ``next_token_losses``)."""
        return next_token_losses(pred, batch, len(self._sizes))

    # -- serialisation ---------------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        return {"tokens": self.tokens, "lengths": self.lengths, "subtask": self.subtask, "counted": self.counted}

    def to_config(self, inline: bool = False) -> dict:
        """Settings and a digest of the token ids (``data_sha256``), which are in ``tensors()``;
        with ``inline`` the ids themselves as lists (``sequences``, ``positions``), a JSON that
        stands alone (for ``interp allocate --task`` on a small task)."""
        config = {"type": "TokenTask", "names": _listify(self.names),
                  "subtask_weights": _listify(self.subtask_weights), "d_vocab": self.d_vocab, "pad_id": self.pad_id}
        if inline:
            return {**config, "sequences": _listify(self.sequences), "positions": _listify(self.positions)}
        return {**config, "n_sequences": len(self), "n_tokens": self.n_tokens,
                "data_sha256": self.data_digest()}

    @classmethod
    def from_fields(cls, config: dict, tensors: dict[str, torch.Tensor] | None = None) -> "TokenTask":
        """From ``to_config()`` and ``tensors()``, or from an inline config (``sequences`` as
        lists, ``positions`` optional) written by ``to_config(inline=True)`` or by hand."""
        settings = {"names", "subtask_weights", "d_vocab", "pad_id"}
        inline = "sequences" in config
        keys = settings | ({"sequences", "positions"} if inline else {"n_sequences", "n_tokens", "data_sha256"})
        unknown = sorted(set(config) - keys)
        check(not unknown, "key", unknown[0] if len(unknown) == 1 else unknown,
              f"a field of TokenTask: one of {sorted(keys)} (or 'type')")
        kwargs = {k: config[k] for k in settings if k in config}
        if inline:
            check(not tensors, "tensors", sorted(tensors or ()), "none with an inline config (its ids are in it)")
            return cls(sequences=config["sequences"], positions=config.get("positions"), **kwargs)
        check(isinstance(tensors, dict) and set(tensors) == set(TENSORS), "tensors",
              sorted(tensors) if isinstance(tensors, dict) else tensors,
              f"the token ids {list(TENSORS)}: a TokenTask's ids live in tensors (a checkpoint's "
              f"task_data.safetensors), or inline as 'sequences' lists")
        check(digest(tensors) == config.get("data_sha256"), "tensors", "token ids whose digest differs",
              f"the ids the config describes (sha256 {config.get('data_sha256')})")
        return cls.from_tensors(tensors["tokens"], tensors["lengths"], tensors["subtask"], tensors["counted"],
                                **kwargs)


register_built_in(TokenTask)


def vocab_size(model=None, tokenizer=None) -> int | None:
    """The output size of ``model`` (``cfg.d_vocab``, ``config.vocab_size``, or
    ``config.d_vocab``), else the size of ``tokenizer`` (``len``, counting added tokens), else
    None."""
    for owner, attr in (("cfg", "d_vocab"), ("config", "vocab_size"), ("config", "d_vocab")):
        value = getattr(getattr(model, owner, None), attr, None)
        if is_int(value) and value > 0:
            return value
    if tokenizer is not None and hasattr(tokenizer, "__len__"):
        try:
            return int(len(tokenizer))
        except TypeError:
            return None
    return None


def _groups(sequences) -> list[list]:
    """``sequences`` (per subtask: sequences as tuples/lists of ints, or a 2-D integer tensor)
    as per-subtask lists of sequences (lists of ids), each of length ≥ 2; refused naming
    ``sequences`` when malformed (the ids themselves are checked by ``_padded``)."""
    rule = "a non-empty tuple of subtasks, each a non-empty tuple of token sequences (ints ≥ 0)"
    check(isinstance(sequences, (tuple, list)) and len(sequences) > 0, "sequences", _describe(sequences), rule)
    groups = []
    for k, group in enumerate(sequences):
        if isinstance(group, torch.Tensor):
            check(group.dim() == 2 and group.shape[0] > 0 and group.shape[1] >= 2 and not group.is_floating_point()
                  and group.dtype != torch.bool, "sequences", _describe(group),
                  f"subtask {k}: an integer tensor [n, L ≥ 2] of token ids, or a tuple of sequences")
            groups.append(group.tolist())
            continue
        check(isinstance(group, (tuple, list)) and len(group) > 0, "sequences", _describe(sequences),
              f"subtask {k} to hold at least one token sequence")
        for s in group:
            if not (isinstance(s, (tuple, list)) and len(s) >= 2):
                check(False, "sequences", _describe(s), "sequences of at least 2 non-negative integer token ids")
        groups.append(group)
    return groups


def _padded(seqs: list, length: int, pad_id: int) -> torch.Tensor:
    """Sequences of ids as one long tensor ``[S, length]`` padded with ``pad_id``, built in one
    call; a sequence holding anything but non-negative integers is refused by name."""
    try:
        tokens = torch.tensor([list(s) + [pad_id] * (length - len(s)) for s in seqs])
        ok = tokens.dtype == torch.long and int(tokens.min()) >= 0
    except (TypeError, ValueError, RuntimeError, OverflowError):
        ok = False
    if not ok:
        for s in seqs:
            t = _ids(s)
            if t is None or int(t.min()) < 0:
                check(False, "sequences", _describe(s), "sequences of at least 2 non-negative integer token ids")
    return tokens


def _ids(s) -> torch.Tensor | None:
    """A sequence of token ids (a tuple or list of ints) as a 1-D long tensor, or None."""
    if not isinstance(s, (tuple, list)) or any(isinstance(t, bool) for t in s):
        return None
    try:
        t = torch.tensor(s)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    return t if t.dim() == 1 and t.dtype == torch.long else None


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."


def _listify(v):
    return [_listify(u) for u in v] if isinstance(v, (list, tuple)) else v
