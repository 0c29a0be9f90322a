"""Multitask sparse parity (SPEC B): ``SparseParity``, skills drawn with Zipf frequencies, each
the parity of its own few bits."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..validate import check, check_bool, check_choice, check_memory, check_number, check_positive, check_seed
from .batch import Batch, check_sample_count
from .contract import BalancedEval, Task
from .registry import register_built_in


def _enough_sets(n: int, m: int, want: int) -> bool:
    """Whether C(n, m) ≥ want, without computing a huge binomial."""
    c, m = 1, min(m, n - m)
    for i in range(m):
        c = c * (n - i) // (i + 1)
        if c >= want:
            return True
    return c >= want


@register_built_in
@dataclass(frozen=True)
class SparseParity(BalancedEval, Task):
    """Multitask sparse parity (SPEC B). Input: ``n_skills`` one-hot control bits then
    ``n_bits`` random bits, all 0/1. Skill k (k = 1..n_skills) is the parity of its own
    ``bits_per_skill`` bits and is drawn with probability P_k ∝ k^-(alpha+1).

    ``alpha`` is the paper's α: the Zipf exponent is α + 1 (both public codebases call the
    Zipf exponent itself ``alpha``). With ``loss_type="mse"`` the target is ``scale·(±1)``
    (``+scale`` for even parity), ``d_out = 1``; with ``loss_type="ce"`` the target is the
    parity class (0 or 1), ``d_out = 2``. ``disjoint=True`` gives skill k the bits
    ``[k·m, (k+1)·m)``, or, with ``random_positions=True``, ``n_skills·m`` distinct bits at
    random positions drawn from ``bits_seed`` (as the emergence paper's authors draw them);
    ``disjoint=False`` lets each skill draw ``m`` of the ``n_bits`` bits at random from
    ``bits_seed``, redrawing a skill whose bit set an earlier skill already reads (two skills
    never share one set).

    >>> SparseParity(3, 12, 3, random_positions=True, bits_seed=1).skill_bits.tolist()
    [[1, 4, 6], [0, 8, 11], [2, 3, 5]]
    """

    n_skills: int = 5
    n_bits: int = 32
    bits_per_skill: int = 3
    alpha: float = 0.6
    scale: float = 1.0
    loss_type: str = "mse"
    disjoint: bool = True
    bits_seed: int = 0
    random_positions: bool = False

    def __post_init__(self):
        check_positive("n_skills", self.n_skills, integer=True)
        check_positive("n_bits", self.n_bits, integer=True)
        check_positive("bits_per_skill", self.bits_per_skill, integer=True)
        # the skill frequencies and bit tables (int64/float64), before anything is made of them
        tables = 8 * (self.n_skills * (1 + self.bits_per_skill) + self.n_bits)
        big = "n_skills" if self.n_skills * (1 + self.bits_per_skill) >= self.n_bits else "n_bits"
        check_memory(big, getattr(self, big), tables,
                     f"tables for {self.n_skills:.3g} skills of {self.bits_per_skill} bits over {self.n_bits:.3g} bits")
        check(self.bits_per_skill <= self.n_bits, "bits_per_skill", self.bits_per_skill,
              f"at most n_bits={self.n_bits}")
        check_bool("disjoint", self.disjoint)
        check_bool("random_positions", self.random_positions)
        if self.disjoint:
            check(self.n_skills * self.bits_per_skill <= self.n_bits, "bits_per_skill", self.bits_per_skill,
                  f"with disjoint bits, bits_per_skill × n_skills ≤ n_bits "
                  f"({self.bits_per_skill} × {self.n_skills} > {self.n_bits}); lower it or set disjoint=False")
        check_number("alpha", self.alpha, 0.0, what="a finite number ≥ 0 (the paper's α)")
        check_positive("scale", self.scale)
        check_choice("loss_type", self.loss_type, ("mse", "ce"))
        check_seed("bits_seed", self.bits_seed)
        if not self.disjoint:
            check(_enough_sets(self.n_bits, self.bits_per_skill, self.n_skills), "n_skills", self.n_skills,
                  f"at most C(n_bits, bits_per_skill) = C({self.n_bits}, {self.bits_per_skill}) skills, so that no "
                  f"two skills read the same bits")

    @property
    def d_in(self):
        return self.n_skills + self.n_bits

    @property
    def d_out(self):
        return 1 if self.loss_type == "mse" else 2

    @property
    def subtasks(self):
        return tuple(f"skill{k}" for k in range(1, self.n_skills + 1))

    @property
    def weights(self):
        """Skill frequencies P_k = k^-(α+1) / Σ_j j^-(α+1), ``[n_skills]`` (float64)."""
        p = torch.arange(1, self.n_skills + 1, dtype=torch.float64) ** -(self.alpha + 1)
        return p / p.sum()

    @property
    def input_groups(self):
        """Skill k reads its control bit (input k) and its data bits."""
        return tuple((k, *(self.n_skills + int(b) for b in self.skill_bits[k])) for k in range(self.n_skills))

    @property
    def skill_bits(self) -> torch.Tensor:
        """Indices (into the ``n_bits`` data bits) of each skill's bits, ``[n_skills, m]``."""
        m = self.bits_per_skill
        g = torch.Generator().manual_seed(self.bits_seed)
        if self.disjoint:
            if not self.random_positions:
                return torch.arange(self.n_skills * m).reshape(self.n_skills, m)
            return torch.randperm(self.n_bits, generator=g)[: self.n_skills * m].reshape(self.n_skills, m).sort(-1).values
        rows, seen = [], set()
        while len(rows) < self.n_skills:   # rejection: a set already read by an earlier skill is drawn again
            row = torch.randperm(self.n_bits, generator=g)[:m].sort().values
            if tuple(row.tolist()) not in seen:
                seen.add(tuple(row.tolist()))
                rows.append(row)
        return torch.stack(rows)

    def _make(self, skill: torch.Tensor, generator: torch.Generator) -> Batch:
        n = skill.numel()
        bits = torch.randint(0, 2, (n, self.n_bits), generator=generator)
        control = torch.nn.functional.one_hot(skill, self.n_skills)
        x = torch.cat([control, bits], dim=1).float()
        parity = bits.gather(1, self.skill_bits[skill]).sum(1) % 2
        if self.loss_type == "ce":
            return Batch(x, parity, skill)
        return Batch(x, (self.scale * (1 - 2 * parity)).float().unsqueeze(1), skill)

    def sample(self, n, generator):
        check_sample_count(self, n)
        skill = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        return self._make(skill, generator)

    def _per_skill_mean(self, values: torch.Tensor, skill: torch.Tensor) -> torch.Tensor:
        """Mean of ``values [..., n]`` over the samples of each skill: ``[..., n_skills]``."""
        onehot = torch.nn.functional.one_hot(skill, self.n_skills).to(values.dtype)
        return (values @ onehot) / onehot.sum(0).clamp_min(1)

    def _sample_losses(self, pred, batch):
        if self.loss_type == "ce":
            return torch.nn.functional.cross_entropy(pred.flatten(0, -2), batch.y.expand(pred.shape[:-1]).flatten(),
                                                     reduction="none").reshape(pred.shape[:-1])
        return (pred - batch.y).pow(2).squeeze(-1)

    def subtask_losses(self, pred, batch):
        return self._per_skill_mean(self._sample_losses(pred, batch), batch.subtask)

    def sample_losses(self, pred, batch, lead: int = 0):
        w = torch.nn.functional.one_hot(batch.subtask, self.n_skills).to(pred.dtype)   # [n, K]
        return self._sample_losses(pred, batch).unsqueeze(-1) * w, w

    def loss(self, pred, batch):
        """Plain mean over the batch: the skills enter in the proportions they were drawn."""
        return self._sample_losses(pred, batch).mean(-1)

    def skill_strength(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """R_k / S for each skill, ``[..., n_skills]``: the projection of the centred output on
        skill k's centred target over skill k's inputs, divided by the target's squared norm,
        so 1 means the skill is learned and 0 that the output ignores it. For ``loss_type="ce"``
        the output is the logit margin logit₁ − logit₀ (positive for odd parity, class 1),
        projected on the target ``scale·(2·parity − 1)`` of the same sign: a model that has
        learned every skill scores margin/scale > 0.

        >>> t = SparseParity(3, 9, 3, 0.5, loss_type="ce")
        >>> b = t.eval_batch(300, torch.Generator().manual_seed(0))
        >>> t.skill_strength(torch.nn.functional.one_hot(b.y, 2).double() * 4, b).tolist()
        [4.0, 4.0, 4.0]
        """
        f = pred[..., 0] if self.loss_type == "mse" else pred[..., 1] - pred[..., 0]
        y = batch.y.squeeze(-1).to(f.dtype) if self.loss_type == "mse" else (2 * batch.y - 1).to(f.dtype) * self.scale
        f = f - self._per_skill_mean(f, batch.subtask)[..., batch.subtask]
        y = y - self._per_skill_mean(y, batch.subtask)[..., batch.subtask]
        return self._per_skill_mean(f * y, batch.subtask) / self._per_skill_mean(y * y, batch.subtask).clamp_min(1e-30)

    def metrics(self, pred, batch):
        return {"loss": self.subtask_losses(pred, batch), "skill_strength": self.skill_strength(pred, batch)}

    def to_config(self):
        return {"type": "SparseParity", **asdict(self)}
