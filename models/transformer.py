"""The sparse-parity transformer of SPEC B Fig. 4, on TransformerLens hook points.

Defaults are the emergence paper's authors' model: each input bit (0/1, control bits
included) becomes the fixed one-hot vector [bit value, position] (``n_tokens + n_ctx``
entries), mapped by a linear layer with bias and a ReLU to ``d_model``; pre-LN blocks of
*causal* multi-head attention and a 4x ReLU MLP; a final LayerNorm; the read-out flattens
every position into one linear map ``n_ctx·d_model → d_out``. Initialisation is PyTorch's
default for each linear map (weights and biases U(±1/sqrt(fan_in))) with the attention and
MLP output projections divided by sqrt(their number of weight and bias tensors): halved for
one block, as in the authors' code.

The earlier variant stays available: ``causal=False, readout="mean", embedding="learned",
init="normal"`` (bidirectional attention, mean over positions, learned token and position
tables, every weight N(0, init_std²), zero biases).

``readout="tokens"`` makes it a decoder-only language model: every position reads out its
own ``d_out`` logits (``[batch, n_ctx, d_out]``, the vocabulary when ``d_out = n_tokens``),
the loss a ``models.TokenTask`` computes; it needs causal attention.

Neurons sit at ``blocks.{l}.mlp.hook_post`` ``[batch, pos, d_mlp]``, with the usual
TransformerLens names elsewhere (``hook_embed``, ``blocks.{l}.hook_resid_pre``,
``blocks.{l}.attn.hook_pattern``, ...).

>>> import torch
>>> net = ParityTransformer(ParityTransformerConfig(n_ctx=12, d_model=32))
>>> net(torch.randint(0, 2, (5, 12)).float()).shape
torch.Size([5, 1])
>>> n_params(ParityTransformer(ParityTransformerConfig(n_ctx=37)))   # the authors' 32 bits + 5 skills
3192833
>>> ParityTransformerConfig(n_ctx=37).n_parameters
3192833
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from .mlp import ACTIVATIONS
from .validate import check, check_bool, check_choice, check_memory, check_positive, check_seed

READOUTS = ("flatten", "mean", "tokens")
EMBEDDINGS = ("onehot", "learned")
INITS = ("default", "normal")


@dataclass(frozen=True)
class ParityTransformerConfig:
    """``n_ctx`` is the sequence length (the task's ``d_in``); ``d_mlp`` defaults to
    4·``d_model``. ``causal``: each position attends only to itself and earlier ones.
    ``readout``: 'flatten' (every position into one linear map), 'mean' (mean over
    positions, then a linear map) or 'tokens' (each position through one linear map: a
    decoder-only language model's logits, causal attention only). ``embedding``: 'onehot'
    (fixed one-hot [value, position] → linear with bias → ReLU) or 'learned' (token table +
    position table).
    ``init``: 'default' (PyTorch's, output projections scaled down) or 'normal' (weights
    N(0, init_std²), zero biases). ``seed`` fixes the initialisation."""

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
    causal: bool = True
    readout: str = "flatten"
    embedding: str = "onehot"
    init: str = "default"

    def __post_init__(self):
        for name in ("n_ctx", "d_model", "n_heads", "n_layers", "d_out", "n_tokens"):
            check_positive(name, getattr(self, name), integer=True)
        sizes = ("d_model", "n_layers", "n_ctx") + (("d_mlp",) if self.d_mlp is not None else ())
        if self.d_mlp is None:
            object.__setattr__(self, "d_mlp", 4 * self.d_model)
        check_positive("d_mlp", self.d_mlp, integer=True)
        check(self.d_model % self.n_heads == 0, "n_heads", self.n_heads, f"a divisor of d_model={self.d_model}")
        check_choice("activation", self.activation, sorted(ACTIVATIONS))
        check_positive("init_std", self.init_std)
        check_seed("seed", self.seed)
        check_bool("causal", self.causal)
        check_choice("readout", self.readout, READOUTS)
        check(self.readout != "tokens" or self.causal, "causal", self.causal,
              "True with readout='tokens' (a position may not see the token it predicts)")
        check_choice("embedding", self.embedding, EMBEDDINGS)
        check_choice("init", self.init, INITS)
        n = self.n_parameters
        big = max(sizes, key=lambda k: getattr(self, k))  # name the largest size the user gave
        check_memory(big, getattr(self, big), 4 * n, f"{n:.3g} parameters of float32")

    @property
    def n_parameters(self) -> int:
        """Trainable parameters of a ParityTransformer of this shape."""
        d, m, c = self.d_model, self.d_mlp, self.n_ctx
        embed = (self.n_tokens + c) * d + d if self.embedding == "onehot" else (self.n_tokens + c) * d
        block = 4 * d * d + 2 * d * m + m + 9 * d   # attention, MLP, their biases, two LayerNorms
        read = (c * d if self.readout == "flatten" else d) * self.d_out + self.d_out
        return embed + self.n_layers * block + 2 * d + read

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


class Attention(nn.Module):
    def __init__(self, cfg: ParityTransformerConfig):
        super().__init__()
        self.causal = cfg.causal
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
        if self.causal:   # position q sees keys k ≤ q only
            n = scores.shape[-1]
            later = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(1)
            scores = scores.masked_fill(later, float("-inf"))
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
    """Input ``[batch, n_ctx]`` of token values (0/1 for parity), output ``[batch, d_out]``
    (``[batch, n_ctx, d_out]`` with ``readout="tokens"``)."""

    def __init__(self, config: ParityTransformerConfig):
        super().__init__()
        self.config = cfg = config
        if cfg.embedding == "onehot":   # rows: one per token value, then one per position
            self.W_E = nn.Parameter(torch.empty(cfg.n_tokens + cfg.n_ctx, cfg.d_model))
            self.b_E = nn.Parameter(torch.zeros(cfg.d_model))
        else:
            self.W_E = nn.Parameter(torch.empty(cfg.n_tokens, cfg.d_model))
            self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))
            self.hook_pos_embed = HookPoint()
        self.hook_embed = HookPoint()
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_final = nn.LayerNorm(cfg.d_model)
        d_read = cfg.n_ctx * cfg.d_model if cfg.readout == "flatten" else cfg.d_model
        self.W_U = nn.Parameter(torch.empty(d_read, cfg.d_out))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_out))
        self._initialise(torch.Generator().manual_seed(cfg.seed))
        self.setup()

    def _linear_maps(self) -> list[tuple[torch.Tensor, torch.Tensor | None, int]]:
        """(weight, bias, fan_in) of every linear map, as PyTorch's ``nn.Linear`` would see it."""
        cfg = self.config
        maps = [(self.W_E, getattr(self, "b_E", None), self.W_E.shape[0])]
        for b in self.blocks:
            a, m = b.attn, b.mlp
            maps += [(a.W_Q, a.b_Q, cfg.d_model), (a.W_K, a.b_K, cfg.d_model), (a.W_V, a.b_V, cfg.d_model),
                     (a.W_O, a.b_O, cfg.d_model), (m.W_in, m.b_in, cfg.d_model), (m.W_out, m.b_out, cfg.d_mlp)]
        return maps + [(self.W_U, self.b_U, self.W_U.shape[0])]

    @torch.no_grad()
    def _initialise(self, g: torch.Generator) -> None:
        cfg = self.config
        if cfg.init == "normal":
            for w in self.weights():
                w.normal_(0.0, cfg.init_std, generator=g)
            return
        for w, b, fan_in in self._linear_maps():
            bound = 1.0 / math.sqrt(fan_in)
            w.uniform_(-bound, bound, generator=g)
            if b is not None:
                b.uniform_(-bound, bound, generator=g)
        if cfg.embedding == "learned":
            self.W_pos.normal_(0.0, 1.0, generator=g)   # nn.Embedding's default
            self.W_E.normal_(0.0, 1.0, generator=g)
        outs = [t for b in self.blocks for t in (b.attn.W_O, b.attn.b_O, b.mlp.W_out, b.mlp.b_out)]
        for t in outs:
            t.div_(math.sqrt(len(outs)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        check(x.shape[-1] == cfg.n_ctx, "x", tuple(x.shape), f"[batch, n_ctx={cfg.n_ctx}]")
        tokens = x.long().clamp(0, cfg.n_tokens - 1)
        # a one-hot product, not W_E[tokens]: that indexing's backward accumulates in thread
        # order on CPU, so two runs with one seed would drift apart
        one_hot = torch.nn.functional.one_hot(tokens, cfg.n_tokens).to(self.W_E.dtype)   # [batch, pos, n_tokens]
        if cfg.embedding == "onehot":
            pre = one_hot @ self.W_E[: cfg.n_tokens] + self.W_E[cfg.n_tokens:] + self.b_E  # [value, position] rows
            resid = self.hook_embed(torch.relu(pre))
        else:
            resid = self.hook_embed(one_hot @ self.W_E) + self.hook_pos_embed(self.W_pos)
        for block in self.blocks:
            resid = block(resid)
        resid = self.ln_final(resid)                                                       # [batch, pos, d_model]
        if cfg.readout == "tokens":
            return resid @ self.W_U + self.b_U                                              # [batch, pos, d_out]
        read = resid.flatten(-2) if cfg.readout == "flatten" else resid.mean(-2)
        return read @ self.W_U + self.b_U

    def weights(self) -> list[torch.Tensor]:
        """Every weight matrix (embedding, attention, MLP, read-out); biases and LayerNorm
        gains are left out."""
        out = [self.W_E] + ([self.W_pos] if self.config.embedding == "learned" else [])
        for b in self.blocks:
            out += [b.attn.W_Q, b.attn.W_K, b.attn.W_V, b.attn.W_O, b.mlp.W_in, b.mlp.W_out]
        return out + [self.W_U]

    @property
    def sites(self) -> dict[str, int]:
        return {f"blocks.{l}.mlp.hook_post": self.config.d_mlp for l in range(self.config.n_layers)}

    def to_config(self) -> dict:
        return {"type": "ParityTransformer", "config": asdict(self.config)}


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
