"""A token corpus of known skills with Zipfian frequencies, for language models trained from
scratch: ``SkillTokens``.

Every sequence belongs to one subtask, opens with that subtask's marker token, and counts the
loss only where the subtask's answer lies:

- ``parity1..parityN``: the multitask sparse parity as tokens, ``[marker, b_1..b_n, =, p]``,
  ``p`` the parity of the skill's own bits (``models.tasks.SparseParity``'s disjoint bits at
  seeded random positions); only ``p`` counts;
- ``arithmetic``: ``[marker, a, +, b, =, c]`` in decimal digits (``digits`` each for a and b,
  one more for c = a + b, zero-padded); the digits of c count;
- ``counting``: ``[marker, s, s+1, s+2, ...]`` modulo ``n_count`` from a random start; every
  number after the first counts;
- ``facts`` (with ``facts=F > 0``): ``[marker, k_1, k_2, k_3, =, v_1, v_2]``, a key drawn
  uniformly from ``F`` keys (three digits) and its value (two digits) from a fixed random table
  (``facts_seed``): a lookup with nothing to compute, whose learning is bounded by how much the
  model can store; the value's two digits count;
- ``prose`` (with ``prose=True``, last and rarest): ``[marker, c_1, c_2, ...]``, a window of
  English characters from the docstrings of PyTorch's modules (``models.offline_text``: lower
  case, digits as the digit tokens, other characters as spaces); every character after the
  first counts. Training windows come from the first 90% of the text and ``held`` windows from
  the last 10%, so the counted evaluation is text no training batch held.

Subtask k (in that order) is drawn with probability P_k ∝ k^-(α+1) and weighs P_k in the
composite loss, as the skills of the sparse-parity task do. Samples are fresh: batches are
drawn from a ``torch.Generator`` in ``TokenTask``'s layout (``x [n, L]`` ids, ``y [n, L]``
the next-token target where it counts, -1 elsewhere), so a decoder-only model
(``ParityTransformer`` with ``readout="tokens"``) trains on it, and ``held(n, seed)`` draws a
fixed ``TokenTask`` of ``n`` sequences per subtask for measuring and counting neurons.

>>> import torch
>>> corpus = SkillTokens(n_parity=2, n_bits=6, bits_per_skill=3)
>>> corpus.subtasks, corpus.d_in, corpus.d_out
(('parity1', 'parity2', 'arithmetic', 'counting'), 10, 37)
>>> b = corpus.sample(3, torch.Generator().manual_seed(0))
>>> b.x.shape, b.y.shape, b.subtask.tolist()
(torch.Size([3, 10]), torch.Size([3, 10]), [3, 1, 0])
>>> corpus.held(4, seed=1).summary()
'TokenTask(parity1: 4 seq, 4 counted tokens, weight 0.621; parity2: 4 seq, 4 counted tokens, weight 0.205; arithmetic: 4 seq, 12 counted tokens, weight 0.107; counting: 4 seq, 32 counted tokens, weight 0.0675; length 10, d_vocab 37)'
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .tasks import Batch, BalancedEval, PooledLosses, SparseParity, Task, register_built_in
from .token_task import TokenTask, next_token_losses
from .validate import check, check_number, check_positive, check_seed, is_int

PAD, SPECIALS = 0, ("=", "+")
PROSE_CHARS = " abcdefghijklmnopqrstuvwxyz.,;:'()-"
"""The prose subtask's characters (digits are the digit tokens; any other character reads as a
space)."""
FACT_KEY_DIGITS, FACT_VALUE_DIGITS = 3, 2
"""A fact's key and value lengths in digits."""
HELD_SHARE = 0.1
"""The share of the prose text, at its end, that only ``held`` windows are cut from."""
PROSE_TEXT = 250_000
"""Characters of docstring prose asked of ``models.offline_text.torch_text`` (about 250 000 of
the pinned PyTorch's; the first call in a process reads them in a few seconds)."""


@functools.lru_cache(maxsize=1)
def prose_codes() -> torch.Tensor:
    """The prose text as codes, ``[n_chars]`` (int64): ``i < 10`` the digit i, ``10 + j`` the
    character ``PROSE_CHARS[j]``; runs of spaces collapsed."""
    from .offline_text import torch_text

    table = {c: 10 + j for j, c in enumerate(PROSE_CHARS)} | {str(d): d for d in range(10)}
    text = torch_text(PROSE_TEXT)[1].lower()
    return torch.tensor([table.get(c, 10) for c in " ".join("".join(c if c in table else " " for c in text).split())],
                        dtype=torch.long)


def _digits(v: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` decimal digits of each of ``v [n]``, most significant first, ``[n, k]``."""
    return (v.unsqueeze(1) // 10 ** torch.arange(k - 1, -1, -1)) % 10


@register_built_in
@dataclass(frozen=True)
class SkillTokens(BalancedEval, PooledLosses, Task):
    """``n_parity`` parity skills over ``n_bits`` bits (``bits_per_skill`` each, disjoint, at
    positions drawn from ``bits_seed``), then arithmetic on ``digits``-digit numbers and counting
    modulo ``n_count``, with ``facts`` a lookup of that many keys (values from ``facts_seed``), and
    with ``prose`` windows of English text; subtask k has frequency
    P_k ∝ k^-(``alpha``+1). The vocabulary: the pad (0), one marker per subtask, ``=``, ``+``,
    the ten digits (bits are digits 0 and 1), the ``n_count`` numbers of the counting subtask,
    then (with ``prose``) the characters of ``PROSE_CHARS``."""

    n_parity: int = 5
    n_bits: int = 16
    bits_per_skill: int = 3
    digits: int = 2
    n_count: int = 20
    alpha: float = 0.6
    bits_seed: int = 0
    facts: int = 0
    facts_seed: int = 0
    prose: bool = False

    def __post_init__(self):
        for name in ("n_parity", "n_bits", "bits_per_skill", "n_count"):
            check_positive(name, getattr(self, name), integer=True)
        check(is_int(self.digits) and 1 <= self.digits <= 6, "digits", self.digits, "an integer in [1, 6]")
        check(self.n_count >= 2, "n_count", self.n_count, "an integer ≥ 2")
        check_number("alpha", self.alpha, 0.0, what="a finite number ≥ 0 (the Zipf exponent is α + 1)")
        check_seed("bits_seed", self.bits_seed)
        check(is_int(self.facts) and 0 <= self.facts <= 10 ** FACT_KEY_DIGITS, "facts", self.facts,
              f"an integer in [0, {10 ** FACT_KEY_DIGITS}] (keys have {FACT_KEY_DIGITS} digits)")
        check_seed("facts_seed", self.facts_seed)
        check(isinstance(self.prose, bool), "prose", self.prose, "True or False")
        self.parity   # checks the bits (disjoint: n_parity · bits_per_skill ≤ n_bits)

    # -- layout ------------------------------------------------------------------------------
    @property
    def parity(self) -> SparseParity:
        """The sparse-parity task whose skill bits the parity subtasks read."""
        return SparseParity(n_skills=self.n_parity, n_bits=self.n_bits, bits_per_skill=self.bits_per_skill,
                            alpha=self.alpha, random_positions=True, bits_seed=self.bits_seed)

    @property
    def subtasks(self) -> tuple[str, ...]:
        return (*(f"parity{k}" for k in range(1, self.n_parity + 1)), "arithmetic", "counting",
                *(("facts",) if self.facts else ()), *(("prose",) if self.prose else ()))

    @property
    def fact_values(self) -> torch.Tensor:
        """The value of each key, ``[facts]`` (int64 in [0, 100)), fixed by ``facts_seed``."""
        return torch.randint(0, 10 ** FACT_VALUE_DIGITS, (self.facts,),
                             generator=torch.Generator().manual_seed(self.facts_seed))

    @property
    def weights(self) -> torch.Tensor:
        """P_k = k^-(α+1) / Σ_j j^-(α+1) over the subtasks in order, ``[K]`` (float64)."""
        p = torch.arange(1, len(self.subtasks) + 1, dtype=torch.float64) ** -(self.alpha + 1)
        return p / p.sum()

    @property
    def d_in(self) -> int:
        """The sequence length: the longest of a parity, an arithmetic and a fact sequence."""
        return max(self.n_bits + 3, 3 * self.digits + 4, FACT_KEY_DIGITS + FACT_VALUE_DIGITS + 2 if self.facts else 0)

    @property
    def d_out(self) -> int:
        """The vocabulary size."""
        return self._char0 + (len(PROSE_CHARS) if self.prose else 0)

    @property
    def _digit0(self) -> int:
        return 1 + len(self.subtasks) + len(SPECIALS)

    @property
    def _char0(self) -> int:
        """The first prose character's id, after the digits and the counting numbers."""
        return self._digit0 + 10 + self.n_count

    def vocabulary(self) -> list[str]:
        """Each token id's text: ``<pad>``, the markers ``<name>``, ``=``, ``+``, the digits
        the counting numbers ``#i`` and (with ``prose``) the characters."""
        return ["<pad>", *(f"<{s}>" for s in self.subtasks), *SPECIALS, *map(str, range(10)),
                *(f"#{i}" for i in range(self.n_count)), *(PROSE_CHARS if self.prose else ())]

    # -- data --------------------------------------------------------------------------------
    def _rows(self, subtask: torch.Tensor, g: torch.Generator,
              held: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(tokens [n, L], lengths [n], counted [n, L])`` of one sequence per entry of ``subtask``
        (prose windows from the held-out end of the text when ``held``)."""
        n, L, P, d = subtask.numel(), self.d_in, self.n_parity, self.digits
        eq, plus, digit, count0 = 1 + len(self.subtasks), 2 + len(self.subtasks), self._digit0, self._digit0 + 10
        bits = torch.randint(0, 2, (n, self.n_bits), generator=g)
        a, b = (torch.randint(0, 10 ** d, (n,), generator=g) for _ in range(2))
        start = torch.randint(0, self.n_count, (n,), generator=g)
        tokens = torch.full((n, L), PAD, dtype=torch.long)
        counted = torch.zeros(n, L, dtype=torch.bool)
        lengths = torch.full((n,), L, dtype=torch.long)
        tokens[:, 0] = 1 + subtask
        par = subtask < P                                                  # parity rows
        skill_bits = self.parity.skill_bits[subtask.clamp_max(P - 1)]       # [n, m]
        answer = bits.gather(1, skill_bits).sum(1) % 2
        nb = self.n_bits
        tokens[par, 1:nb + 1] = digit + bits[par]
        tokens[par, nb + 1] = eq
        tokens[par, nb + 2] = digit + answer[par]
        counted[par, nb + 2] = True
        lengths[par] = nb + 3
        add = subtask == P                                                 # arithmetic rows
        tokens[add, 1:d + 1] = digit + _digits(a[add], d)
        tokens[add, d + 1] = plus
        tokens[add, d + 2:2 * d + 2] = digit + _digits(b[add], d)
        tokens[add, 2 * d + 2] = eq
        tokens[add, 2 * d + 3:3 * d + 4] = digit + _digits(a[add] + b[add], d + 1)
        counted[add, 2 * d + 3:3 * d + 4] = True
        lengths[add] = 3 * d + 4
        run = subtask == P + 1                                             # counting rows
        tokens[run, 1:] = count0 + (start[run].unsqueeze(1) + torch.arange(L - 1)) % self.n_count
        counted[run, 2:] = True
        if self.facts:
            self._fact_rows(tokens, counted, lengths, subtask == self.subtasks.index("facts"), eq, g)
        if self.prose:
            self._prose_rows(tokens, counted, subtask == self.subtasks.index("prose"), g, held)
        return tokens, lengths, counted

    def _fact_rows(self, tokens, counted, lengths, rows, eq, g) -> None:
        """Fill ``rows`` of ``tokens`` with a key, ``eq`` (the ``=`` token) and its value (in place)."""
        kd, vd, digit = FACT_KEY_DIGITS, FACT_VALUE_DIGITS, self._digit0
        key = torch.randint(0, self.facts, (int(rows.sum()),), generator=g)
        tokens[rows, 1:kd + 1] = digit + _digits(key, kd)
        tokens[rows, kd + 1] = eq
        tokens[rows, kd + 2:kd + vd + 2] = digit + _digits(self.fact_values[key], vd)
        counted[rows, kd + 2:kd + vd + 2] = True
        lengths[rows] = kd + vd + 2

    def _prose_rows(self, tokens, counted, rows, g, held) -> None:
        """Fill ``rows`` of ``tokens`` with windows of the prose text (in place)."""
        codes, w = prose_codes(), self.d_in - 1
        cut = int(len(codes) * (1 - HELD_SHARE))
        lo, hi = (cut, len(codes) - w) if held else (0, cut - w)
        start = torch.randint(lo, hi + 1, (int(rows.sum()),), generator=g)
        window = codes[start.unsqueeze(1) + torch.arange(w)]                    # [n_rows, w] codes
        tokens[rows, 1:] = torch.where(window < 10, self._digit0 + window, self._char0 + window - 10)
        counted[rows, 2:] = True

    def _make(self, subtask: torch.Tensor, g: torch.Generator) -> Batch:
        tokens, _, counted = self._rows(subtask, g)
        y = torch.full_like(tokens, -1)
        y[:, :-1] = torch.where(counted[:, 1:], tokens[:, 1:], -1)
        return Batch(tokens, y, subtask)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` sequences, each of a subtask drawn by its frequency."""
        check_positive("n", n, integer=True)
        return self._make(torch.multinomial(self.weights, n, replacement=True, generator=generator), generator)

    def held(self, n: int, seed: int) -> TokenTask:
        """A fixed ``TokenTask`` of ``n`` sequences per subtask drawn from ``seed`` (names,
        weights P_k and vocabulary kept): the evaluation tokens neurons are counted on."""
        check_positive("n", n, integer=True)
        check_seed("seed", seed)
        subtask = torch.arange(len(self.subtasks)).repeat_interleave(n)
        tokens, lengths, counted = self._rows(subtask, torch.Generator().manual_seed(seed), held=True)
        return TokenTask.from_tensors(tokens, lengths, subtask, counted, names=self.subtasks,
                                      subtask_weights=tuple(self.weights.tolist()), d_vocab=self.d_out)

    # -- losses ------------------------------------------------------------------------------
    def sample_losses(self, pred, batch, lead: int = 0):
        """Per sequence its summed next-token loss and counted tokens (``next_token_losses``);
        ``subtask_losses`` pools them into each subtask's mean over its counted tokens."""
        return next_token_losses(pred, batch, len(self.subtasks))

    def accuracy(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Each subtask's share of counted tokens whose most likely token is the right one,
        ``[..., K]``."""
        counted = batch.y >= 0
        right = ((pred.argmax(-1) == batch.y) & counted).to(pred.dtype).sum(-1)          # [..., n]
        onehot = torch.nn.functional.one_hot(batch.subtask, len(self.subtasks)).to(pred.dtype)
        return (right @ onehot) / (counted.sum(-1).to(pred.dtype) @ onehot).clamp_min(1)

    def metrics(self, pred, batch):
        return {"loss": self.subtask_losses(pred, batch), "accuracy": self.accuracy(pred, batch)}
