"""Does a network reach its loss by ensembling redundant regressors? (SPEC A Fig. 6)

In a one-hidden-layer net fitting x², a *regressor* is a pair of symmetric neurons (same
bias, opposite input weight): together they make an even bump that approximates x². If the
net held n such regressors with independent errors, averaging them would cut the error as
1/n. The test:

1. pair live neurons greedily by the smallest relative distance between one neuron's
   (w, b) and the other's reflection (−w, b);
2. take each regressor's output ``F_r(x) = Σ_{i∈r} v_i σ(w_i·x + b_i)`` over the inputs and
   its error function: ``errors="fit"`` (default) gives each regressor its best affine fit to
   the target, ``e_r = f − (a_r F_r + c_r)``; ``errors="share"`` takes it as one of n equal
   shares of the output, ``e_r = n·F_r − f`` (centred: a bias absorbs the mean);
3. report the error correlation matrix, the loss the 1/n law predicts
   (``mean_r MSE(e_r) / n``) beside the network's own loss, the best loss any weighting of
   the regressors summing to 1 could reach given the error covariance (``1 / 1ᵀ Σ⁻¹ 1``),
   and what an unregularised least-squares combination of the regressors reaches (these
   two can sit far below the network's loss: free weights cancel correlated errors, which
   the weight penalties of training do not allow).

Correlations near ±1 (the paper's finding) mean the errors are not independent, so
ensembling does not explain the N⁻¹ law.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.linspace(-1, 1, 400); f = x**2
>>> same = torch.stack([f + 0.1 * torch.sin(9 * x)] * 4)              # identical errors
>>> indep = f + 0.1 * torch.randn(4, 400, generator=g)                 # independent errors
>>> ensembling_from_outputs(same, f).mean_abs_corr > 0.99, ensembling_from_outputs(indep, f).mean_abs_corr < 0.2
(True, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

import probes
from models.tasks import Task
from models.validate import check, check_memory, check_number, is_int, is_number

from .evaluation import check_task


@dataclass(frozen=True)
class Ensembling:
    """The result. ``errors [R, S]`` (one error function per regressor, over ``x [S]``),
    ``corr [R, R]``, ``mse [R]``; losses: ``predicted_independent`` (the 1/n law),
    ``optimal_given_corr``, ``combined`` (least-squares combination of the regressors),
    ``observed`` (the network's loss, None without a network); ``pairs`` with their
    ``distances`` and the ``unpaired`` live neurons."""

    x: np.ndarray
    errors: np.ndarray
    corr: np.ndarray
    mse: np.ndarray
    predicted_independent: float
    optimal_given_corr: float
    combined: float
    observed: float | None = None
    pairs: list[tuple[int, int]] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    unpaired: list[int] = field(default_factory=list)

    @property
    def n_regressors(self) -> int:
        return int(self.errors.shape[0])

    @property
    def mean_abs_corr(self) -> float:
        """Mean |correlation| between the error functions of different regressors (NaN with fewer than 2)."""
        r = self.n_regressors
        if r < 2:
            return float("nan")
        off = np.abs(self.corr[~np.eye(r, dtype=bool)])
        return float(off.mean())

    @property
    def loss_ratio(self) -> float:
        """The network's loss over the 1/n law's, ``observed / predicted_independent``: 1 for n
        regressors with independent errors averaged, n for identical errors, below 1 where errors
        cancel (NaN without a network)."""
        return float("nan") if self.observed is None else self.observed / self.predicted_independent

    def at_independent_law(self) -> bool | None:
        """Whether the network's loss is nearer, on the log scale, to the independent-errors 1/n law
        than to identical errors: ``loss_ratio`` within [n^-½, n^½] (for n = 4 the factor-2 band
        [0.5, 2]). A fixed band cannot be used: at n = 2 identical errors give exactly 2. None with
        fewer than 2 regressors or no network.

        >>> import torch
        >>> x = torch.linspace(-1, 1, 500); f = x ** 2; e = 0.1 * torch.sin(7 * x)
        >>> halves = torch.stack([(f + e) / 2, (f + e) / 2])         # a network f + e made of two identical halves
        >>> ident = ensembling_from_outputs(halves, f, observed=float((e ** 2).mean()), errors="share")
        >>> round(ident.loss_ratio, 3), ident.at_independent_law()
        (2.0, False)
        """
        n = self.n_regressors
        if n < 2 or self.observed is None:
            return None
        return bool(n ** -0.5 <= self.loss_ratio <= n ** 0.5)

    def summary(self) -> dict:
        return {"n_regressors": self.n_regressors, "mean_abs_corr": self.mean_abs_corr,
                "predicted_independent": self.predicted_independent, "optimal_given_corr": self.optimal_given_corr,
                "combined": self.combined, "observed": self.observed, "pairs": [list(map(int, p)) for p in self.pairs],
                "unpaired": list(map(int, self.unpaired))}

    def plot(self, axes=None):
        """Error functions (left) and their correlation matrix (right). Returns the axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        order = np.argsort(self.x)
        for e in self.errors:
            axes[0].plot(self.x[order], e[order], lw=1)
        axes[0].set_xlabel("x")
        axes[0].set_ylabel("regressor error")
        im = axes[1].imshow(self.corr, vmin=-1, vmax=1, cmap="RdBu_r")
        axes[1].set_title(f"error correlations (mean |r| = {self.mean_abs_corr:.2f})")
        plt.colorbar(im, ax=axes[1])
        return axes


def ensembling_from_outputs(outputs: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray,
                            x: torch.Tensor | np.ndarray | None = None, observed: float | None = None,
                            errors: str = "fit") -> Ensembling:
    """The ensembling test on given regressor outputs ``[R, S]`` against ``target [S]``
    (``errors``: ``"fit"`` or ``"share"``, see the module docs).

    >>> import torch
    >>> f = torch.linspace(-1, 1, 100) ** 2
    >>> ensembling_from_outputs(torch.stack([f, 2 * f + 1]), f).combined < 1e-12
    True
    """
    out = np.asarray(outputs.detach() if isinstance(outputs, torch.Tensor) else outputs, dtype=np.float64)
    y = np.asarray(target.detach() if isinstance(target, torch.Tensor) else target, dtype=np.float64).reshape(-1)
    check(out.ndim == 2 and out.shape[1] == y.size and out.shape[0] >= 1, "outputs", out.shape,
          f"regressor outputs [R ≥ 1, S={y.size}] matching the target")
    check(bool(np.isfinite(out).all()), "outputs", f"{int((~np.isfinite(out)).sum())} NaN/inf values",
          "finite regressor outputs")
    check(bool(np.isfinite(y).all()), "target", f"{int((~np.isfinite(y)).sum())} NaN/inf values", "a finite target")
    check(y.size >= 3, "target", y.size, "at least 3 points")
    check(errors in ("fit", "share"), "errors", errors, "'fit' or 'share'")
    S, R = y.size, out.shape[0]
    kind, errors = errors, np.empty_like(out)
    for r, F in enumerate(out):
        if kind == "fit":
            A = np.stack([F, np.ones(S)], 1)
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            errors[r] = y - A @ coef
        else:
            e = R * F - y
            errors[r] = e - e.mean()
    mse = (errors ** 2).mean(1)
    sd = errors.std(1)
    ok = sd > 1e-12 * max(1.0, float(np.abs(y).max()))
    cov = np.cov(errors, bias=True) if errors.shape[0] > 1 else np.array([[errors[0].var()]])
    corr = np.zeros_like(cov)
    corr[np.ix_(ok, ok)] = cov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    corr = np.clip(corr, -1, 1)
    ones = np.ones(R)
    denom = float(ones @ np.linalg.pinv(cov) @ ones)
    optimal = 1.0 / denom if denom > 0 else float(mse.min())
    A = np.concatenate([out.T, np.ones((S, 1))], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    combined = float(((y - A @ coef) ** 2).mean())
    xs = np.arange(S, dtype=float) if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
    return Ensembling(x=xs, errors=errors, corr=corr, mse=mse, predicted_independent=float(mse.mean() / R),
                      optimal_given_corr=float(min(optimal, mse.min())), combined=combined, observed=observed)


def pair_symmetric(w: torch.Tensor, b: torch.Tensor, max_distance: float | None = None) -> tuple[list, list, list]:
    """Greedy pairing of neurons ``(w [n, d_in], b [n])`` by the relative distance between
    one neuron and the other's reflection (−w, b): ``‖(w_i + w_j, b_i − b_j)‖ / (‖(w_i, b_i)‖ +
    ‖(w_j, b_j)‖)``. Returns (pairs, their distances, unpaired indices).

    >>> import torch
    >>> pair_symmetric(torch.tensor([[1.], [-1.02], [0.5]]), torch.tensor([0.3, 0.3, -0.1]))[0]
    [(0, 1)]
    """
    check(isinstance(w, torch.Tensor) and w.dim() == 2, "w", getattr(w, "shape", w), "input weights [n, d_in]")
    check(isinstance(b, torch.Tensor) and tuple(b.shape) == (w.shape[0],), "b", getattr(b, "shape", b),
          f"biases [n={w.shape[0]}] matching w")
    probes.check_finite("w", w)
    probes.check_finite("b", b)
    check(max_distance is None or (is_number(max_distance) and max_distance >= 0), "max_distance", max_distance,
          "None or a number ≥ 0")
    p = torch.cat([w.double(), b.double().unsqueeze(-1)], -1)
    refl = torch.cat([-w.double(), b.double().unsqueeze(-1)], -1)
    n = p.shape[0]
    norm = p.norm(dim=-1)
    dist = (p.unsqueeze(1) - refl.unsqueeze(0)).norm(dim=-1) / (norm.unsqueeze(1) + norm.unsqueeze(0)).clamp_min(1e-30)
    cand = sorted((float(dist[i, j]), i, j) for i in range(n) for j in range(i + 1, n))
    used, pairs, dists = set(), [], []
    for d, i, j in cand:
        if i in used or j in used or (max_distance is not None and d > max_distance):
            continue
        used.update((i, j))
        pairs.append((i, j))
        dists.append(d)
    return pairs, dists, [i for i in range(n) if i not in used]


def ensembling_test(model: nn.Module, task: Task, *, n_points: int = 2000, seed: int = 0, output: int = 0,
                    max_distance: float | None = None, live_threshold: float = 1e-3,
                    member: int | None = None, errors: str = "fit") -> Ensembling:
    """The Fig. 6 test on a one-hidden-layer zoo MLP (an ensemble member with ``member=i``):
    pair its live neurons into symmetric regressors and compare their error functions on
    ``n_points`` of the task's inputs, for output column ``output``.

    >>> import torch, models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
    >>> with torch.no_grad():
    ...     _ = net.layers[0].weight.copy_(torch.tensor([[2.], [-2.], [1.], [-1.]]))
    ...     _ = net.layers[0].bias.copy_(torch.tensor([-1., -1., 0.5, 0.5]))
    >>> res = interp.ensembling_test(net, models.tasks.Square())
    >>> res.pairs
    [(0, 1), (2, 3)]
    """
    if member is not None:
        check(probes.n_members(model) is not None, "member", member, "None for a single model")
        model = model.member(member)
    check(probes.n_members(model) is None, "member", member,
          "an ensemble member index (an ensemble holds several nets)")
    weights = probes.mlp_weights(model)
    check(weights is not None and len(weights) == 2, "model", type(model).__name__,
          "a zoo MLP with one hidden layer (its neurons pair into regressors)")
    check_task(model, task)
    check(is_int(output) and 0 <= output < task.d_out, "output", output, f"an output column in [0, {task.d_out})")
    check(is_int(n_points) and n_points >= 3, "n_points", n_points, "an integer ≥ 3")
    check_memory("n_points", n_points, 8 * n_points * (task.d_in + 2 * max(model.sites.values())),
                 f"{n_points:.3g} inputs and their raw activations")
    check_number("live_threshold", live_threshold, 0.0, what="a finite number ≥ 0")
    check(max_distance is None or (is_number(max_distance) and max_distance >= 0), "max_distance", max_distance,
          "None or a number ≥ 0")
    batch = task.eval_batch(n_points, torch.Generator().manual_seed(seed))
    acts = probes.capture(model, batch.x, sites=["hidden.0"], stats=("raw",), batch_size=max(n_points, 1))
    a = acts["hidden.0"].raw.double()  # [S, n]
    live = torch.nonzero(a.var(0, correction=0) > live_threshold).flatten()
    w_in, w_out = weights[0].double(), weights[1].double()  # [d_in, n], [n, d_out]
    b_in = model.layers[0].bias.detach().cpu().double()
    pairs, dists, unpaired = pair_symmetric(w_in.T[live], b_in[live], max_distance)
    pairs = [(int(live[i]), int(live[j])) for i, j in pairs]
    unpaired = [int(live[i]) for i in unpaired]
    check(len(pairs) >= 1, "model", type(model).__name__, "a net with at least one pair of live neurons to compare")
    outs = torch.stack([a[:, i] * w_out[i, output] + a[:, j] * w_out[j, output] for i, j in pairs])
    y = batch.y[..., output].double() if batch.y.dim() > 1 else batch.y.double()
    with torch.no_grad():
        pred = model(batch.x.to(probes.model_device(model)))[..., output].double().cpu()
    observed = float(((pred - y) ** 2).mean())
    x0 = batch.x[:, 0].double()
    res = ensembling_from_outputs(outs, y, x=x0, observed=observed, errors=errors)
    return Ensembling(**{**res.__dict__, "pairs": pairs, "distances": dists, "unpaired": unpaired})
