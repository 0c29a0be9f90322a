"""The sparse-parity transformer of SPEC B Fig. 4, on TransformerLens hook points.

Each input bit (0/1) is a token, embedded one-hot (a learned row per bit value) plus a
learned position embedding; pre-LN blocks of bidirectional multi-head attention and a 4x
MLP; a final LayerNorm, the mean over positions and a linear read-out to ``d_out``
(a scalar for MSE). Neurons sit at ``blocks.{l}.mlp.hook_post`` ``[batch, pos, d_mlp]``,
with the usual TransformerLens names elsewhere (``hook_embed``, ``blocks.{l}.hook_resid_pre``,
``blocks.{l}.attn.hook_pattern``, ...).

>>> import torch
>>> net = ParityTransformer(ParityTransformerConfig(n_ctx=12, d_model=32))
>>> net(torch.randint(0, 2, (5, 12)).float()).shape
torch.Size([5, 1])
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from .mlp import ACTIVATIONS
from .validate import check, check_positive


@dataclass(frozen=True)
class ParityTransformerConfig:
    """``n_ctx`` is the sequence length (the task's ``d_in``); ``d_mlp`` defaults to
    4·``d_model``; weights are drawn from N(0, init_std²) with ``seed``."""

    n_ctx: int
    d_model: int = 512
    n_heads: int = 4
    n_layers: int = 1
    d_mlp: int | None = None
    d_out: int = 1
    n_tokens: int = 2
    activation: str = "relu"
    init_std: float = 0.02
    seed: int = 0

    def __post_init__(self):
        for name in ("n_ctx", "d_model", "n_heads", "n_layers", "d_out", "n_tokens"):
            check_positive(name, getattr(self, name), integer=True)
        if self.d_mlp is None:
            object.__setattr__(self, "d_mlp", 4 * self.d_model)
        check_positive("d_mlp", self.d_mlp, integer=True)
        check(self.d_model % self.n_heads == 0, "n_heads", self.n_heads, f"a divisor of d_model={self.d_model}")
        check(self.activation in ACTIVATIONS, "activation", self.activation, f"one of {sorted(ACTIVATIONS)}")
        check_positive("init_std", self.init_std)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


class Attention(nn.Module):
    def __init__(self, cfg: ParityTransformerConfig):
        super().__init__()
        h, d, dh = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.empty(h, d, dh)) for _ in range(3))
        self.W_O = nn.Parameter(torch.empty(h, dh, d))
        self.b_Q, self.b_K, self.b_V = (nn.Parameter(torch.zeros(h, dh)) for _ in range(3))
        self.b_O = nn.Parameter(torch.zeros(d))
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_pattern, self.hook_z = HookPoint(), HookPoint()

    def forward(self, x):  # [batch, pos, d_model]
        q = self.hook_q(torch.einsum("bpd,hde->bphe", x, self.W_Q) + self.b_Q)
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x, self.W_K) + self.b_K)
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x, self.W_V) + self.b_V)
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(q.shape[-1])
        pattern = self.hook_pattern(scores.softmax(-1))
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        return torch.einsum("bqhe,hed->bqd", z, self.W_O) + self.b_O


class MLPBlock(nn.Module):
    def __init__(self, cfg: ParityTransformerConfig):
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_pre, self.hook_post = HookPoint(), HookPoint()
        self._act = ACTIVATIONS[cfg.activation]

    def forward(self, x):
        return self.hook_post(self._act(self.hook_pre(x @ self.W_in + self.b_in))) @ self.W_out + self.b_out


class Block(nn.Module):
    def __init__(self, cfg: ParityTransformerConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn, self.mlp = Attention(cfg), MLPBlock(cfg)
        self.hook_resid_pre, self.hook_resid_mid, self.hook_resid_post = HookPoint(), HookPoint(), HookPoint()
        self.hook_attn_out, self.hook_mlp_out = HookPoint(), HookPoint()

    def forward(self, x):
        x = self.hook_resid_pre(x)
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln1(x))))
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))


class ParityTransformer(HookedRootModule):
    """Input ``[batch, n_ctx]`` of 0/1 values, output ``[batch, d_out]``."""

    def __init__(self, config: ParityTransformerConfig):
        super().__init__()
        self.config = cfg = config
        self.W_E = nn.Parameter(torch.empty(cfg.n_tokens, cfg.d_model))
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_final = nn.LayerNorm(cfg.d_model)
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_out))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_out))
        g = torch.Generator().manual_seed(cfg.seed)
        with torch.no_grad():
            for w in self.weights():
                w.normal_(0.0, cfg.init_std, generator=g)
        self.setup()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check(x.shape[-1] == self.config.n_ctx, "x", tuple(x.shape), f"[batch, n_ctx={self.config.n_ctx}]")
        tokens = x.long().clamp(0, self.config.n_tokens - 1)
        # a one-hot product, not W_E[tokens]: that indexing's backward accumulates in thread
        # order on CPU, so two runs with one seed would drift apart
        one_hot = torch.nn.functional.one_hot(tokens, self.config.n_tokens).to(self.W_E.dtype)
        resid = self.hook_embed(one_hot @ self.W_E) + self.hook_pos_embed(self.W_pos)
        for block in self.blocks:
            resid = block(resid)
        return self.ln_final(resid).mean(-2) @ self.W_U + self.b_U

    def weights(self) -> list[torch.Tensor]:
        """Every weight matrix (embeddings, attention, MLP, read-out); biases and LayerNorm
        gains are left out."""
        out = [self.W_E, self.W_pos]
        for b in self.blocks:
            out += [b.attn.W_Q, b.attn.W_K, b.attn.W_V, b.attn.W_O, b.mlp.W_in, b.mlp.W_out]
        return out + [self.W_U]

    @property
    def sites(self) -> dict[str, int]:
        return {f"blocks.{l}.mlp.hook_post": self.config.d_mlp for l in range(self.config.n_layers)}

    def to_config(self) -> dict:
        return {"type": "ParityTransformer", "config": asdict(self.config)}
