"""Beyond the papers: the resource model across a width family of transformers trained from
scratch on a corpus of known skills.

Decoder-only transformers (``models.ParityTransformer`` with ``readout="tokens"``: learned
token and position tables, pre-LN blocks of causal attention and a GELU MLP) of one depth and
several MLP widths, ``len(seeds)`` seeds each, are trained by the shared trainer on
``models.SkillTokens`` (parity skills as tokens, arithmetic, counting, facts, and English prose from
the docstrings of the pinned PyTorch, last and rarest; subtask k drawn with frequency
P_k ∝ k^-1.6). On fixed evaluation tokens (``n_eval`` sequences per subtask) each
model gives its subtask losses ℓ_k, its per-token accuracies and N_k(τ): the MLP neurons
whose exact mean ablation raises ℓ_k by more than ``tau`` nats, every neuron measured
(``interp.allocate(method="census")`` with a budget that covers them all, so each count is
exact on those tokens; seed-to-seed spread gives the fits' intervals). Then:

- homogeneous growth: is each share N_k/N constant across widths
  (``interp.homogeneous_growth``, over the subtasks with neurons in every model)?
- ℓ_k against N_k across the family: the exponent, pooled over subtasks after dividing each
  subtask's ℓ_k and N_k by their geometric means (hypothesis 1: -1);
- N_k against the frequency P_k of the parity skills (same difficulty, different frequency) in
  the widest models: the optimum of ℓ_k ∝ 1/N_k gives the exponent 0.5.

- the same two fits on a second count, the footprint N_k^½: the fewest of subtask k's neurons,
  taken in the order of their single ablation effects, whose joint mean ablation costs k at
  least half of what ablating every MLP neuron costs (``footprint``). Single-neuron counts
  miss a skill spread thinly over many neurons; the footprint does not.

- emergence of the parity skills with width: R_k/S, read as 2·accuracy − 1 (0 at chance, 1
  learned), against the multilinear model's parameter form clip((N − (k−1)·N_c)/N_c, 0, 1)
  with N_c fitted on skill 1 (``interp.theory.calibrate``), as Fig. 1 (parameters) does.

Convergence rule, stated and checked: a model has converged when its composite evaluation loss
at the last recorded step is within 5% of the one recorded before it (at least half the run
earlier); the JSON keeps which did.

Both recipes hold a ``facts`` subtask (a lookup of keys to values, learned only by storing
it, so the one subtask whose learning the width of the MLP bounds by design): 128 facts in the
quick recipe, 1 000 (the most three-digit keys hold) in FULL.

Quick recipe: one block, one d_model (32) with MLP widths 16-256 (16x), 3 seeds, 3 000 Adam
steps; FULL: d_model and d_mlp grown together (4x MLP, 8x across the family), 4 layers,
5 seeds, 50 000 steps (about 481 h of training on 2 AVX2 cores by ``benchmarks/full_cost.py``:
a GPU job; the counting runs on the device the models trained on)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

import models

from ..allocation import allocate
from ..scorers.ablation import joint_ablation_losses, pooled_loss, ranked_neurons
from ..experiments.runs import Run, Sweep
from ..experiments.storage import load_run
from ..theory.calibration import calibrate
from ..theory.resource import homogeneous_growth
from .claims import claim, fit_claim, rms_claim, safe_fit
from .drawing import figure, finish
from .recipes import runs_dir, train_runs

NAME = "lm_family"
EVAL_SEED = 7919
"""The evaluation tokens' seed (training draws fresh sequences from the run's own seed)."""
CONVERGED = 0.05
FOOTPRINT = 0.5
"""The footprint's share: N_k^½ is the fewest top neurons of subtask k whose joint ablation
costs k at least this share of the cost of ablating every MLP neuron."""


@dataclass(frozen=True)
class Recipe:
    """Width ``i`` of the family has ``d_model[i]`` and ``d_mlp[i]``; every member has
    ``n_layers`` blocks and is trained for ``steps`` Adam steps at ``lr`` on ``batch`` fresh
    sequences of ``SkillTokens(n_parity, n_bits, facts=facts, prose=True)``, then measured on
    ``n_eval`` sequences per subtask, with the counting threshold ``tau`` in nats per counted
    token."""

    d_model: tuple[int, ...]
    d_mlp: tuple[int, ...]
    n_layers: int
    seeds: tuple[int, ...]
    steps: int
    lr: float
    batch: int
    n_eval: int
    tau: float
    n_parity: int
    n_bits: int
    facts: int = 0


QUICK = Recipe(d_model=(32,) * 5, d_mlp=(16, 32, 64, 128, 256), n_layers=1, seeds=(0, 1, 2), steps=3000, lr=3e-3,
               batch=256, n_eval=64, tau=0.01, n_parity=4, n_bits=12, facts=128)
FULL = Recipe(d_model=(32, 48, 64, 96, 128, 192, 256), d_mlp=(128, 192, 256, 384, 512, 768, 1024), n_layers=4,
              seeds=tuple(range(5)), steps=50_000, lr=1e-3, batch=512, n_eval=512, tau=0.01, n_parity=5, n_bits=16,
              facts=1000)


def corpus(r: Recipe) -> models.SkillTokens:
    return models.SkillTokens(n_parity=r.n_parity, n_bits=r.n_bits, facts=r.facts, prose=True)


def net(r: Recipe, i: int, seed: int = 0) -> models.ParityTransformerConfig:
    c = corpus(r)
    return models.ParityTransformerConfig(n_ctx=c.d_in, d_model=r.d_model[i], d_mlp=r.d_mlp[i], n_layers=r.n_layers,
                                          n_tokens=c.d_out, d_out=c.d_out, activation="gelu", readout="tokens",
                                          embedding="learned", seed=seed)


def train_config(r: Recipe) -> models.TrainConfig:
    return models.TrainConfig(alpha=1.0, l1=0.0, l2=0.0, lr=r.lr, lr_decay=1.0, steps=r.steps, batch_size=r.batch,
                              eval_size=64 * len(corpus(r).subtasks), eval_points=8, progress=False)


def sweeps(r: Recipe) -> list:
    check_recipe(r)
    task, train = corpus(r), train_config(r)
    return [Sweep(tuple(Run(net(r, i, s), task, train) for i in range(len(r.d_mlp)) for s in r.seeds))]


def check_recipe(r: Recipe) -> None:
    from models.validate import check
    check(len(r.d_model) == len(r.d_mlp) and len(r.d_mlp) >= 3, "d_mlp", r.d_mlp,
          f"one width per d_model ({len(r.d_model)}), at least 3")
    check(len(r.seeds) >= 2, "seeds", r.seeds, "at least 2 seeds (the fits' intervals come from their spread)")


def measure(model, held: models.TokenTask, corpus_: models.SkillTokens, tau: float) -> dict:
    """ℓ_k, accuracy, N_k (with its interval) and the footprint N_k^½ of one model on the
    evaluation tokens, on the model's device."""
    model.eval()
    dev = next(model.parameters()).device
    batch = models.Batch(*(t.to(dev) for t in held.eval_batch(len(held), torch.Generator())))
    with torch.no_grad():
        pred = model(batch.x)
        loss = held.subtask_losses(pred, batch).cpu().numpy()
        acc = corpus_.accuracy(pred, batch).cpu().numpy()
    n = sum(model.sites.values())
    alloc = allocate(model, held, method="census", inputs=batch, threshold=tau, progress=False,
                     options={"tau_units": "nats", "ablations": n})
    est = alloc.estimate()
    return {"loss": loss, "accuracy": acc, "count": [float(est[s].estimate) for s in held.subtasks],
            "interval": [list(est[s]) for s in held.subtasks], "neurons": n,
            "footprint": footprint(model, held, batch, alloc, tau)}


def footprint(model, held: models.TokenTask, batch, alloc, tau: float, share: float = FOOTPRINT) -> list[float]:
    """Per subtask k, N_k^½: the fewest of its top live neurons (ranked by ``alloc``'s exact
    single-ablation scores) whose joint mean ablation raises ℓ_k by at least ``share`` of
    what mean-ablating every live MLP neuron does; NaN when that costs k no more than ``tau``
    nats (the MLP does not serve k). Found by doubling n, then bisecting the last doubling (the
    exact minimum where the cost grows with n).

    >>> import torch, models
    >>> from interp import allocate
    >>> task = models.SkillTokens(n_parity=1, n_bits=4, bits_per_skill=2).held(8, seed=0)
    >>> cfg = models.ParityTransformerConfig(n_ctx=task.d_in, d_model=8, d_mlp=8, n_tokens=task.d_out,
    ...                                      d_out=task.d_out, readout="tokens", embedding="learned")
    >>> net = models.ParityTransformer(cfg).eval()
    >>> batch = task.eval_batch(len(task), torch.Generator())
    >>> alloc = allocate(net, task, method="census", inputs=batch, threshold=0.01, progress=False,
    ...                  options={"tau_units": "nats", "ablations": 8})
    >>> n = footprint(net, task, batch, alloc, tau=0.0)
    >>> len(n) == 3 and all(v != v or 1 <= v <= 8 for v in n)
    True
    """
    out = []
    for k in range(len(alloc.subtasks)):
        order = ranked_neurons(alloc, k)
        rows = torch.nonzero(batch.subtask == k).flatten()
        sub = models.Batch(batch.x[rows], batch.y[rows], batch.subtask[rows])

        def cost(n):
            return pooled_loss(joint_ablation_losses(model, held, sub, alloc.mean, order[:n]))

        base, whole = cost(0), cost(len(order))
        if not len(order) or whole - base <= tau:
            out.append(float("nan"))
            continue
        goal = base + share * (whole - base)
        lo, hi = 0, 1                                  # cost(lo) < goal throughout
        while hi < len(order) and cost(hi) < goal:
            lo, hi = hi, min(2 * hi, len(order))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if cost(mid) >= goal else (mid, hi)
        out.append(float(hi))
    return out


def converged(history: dict) -> bool:
    """The stated rule: the last composite evaluation loss within ``CONVERGED`` (relative) of
    the one recorded before it."""
    loss = np.asarray(history["task_loss"], dtype=float)
    return bool(len(loss) >= 2 and abs(loss[-1] - loss[-2]) <= CONVERGED * max(loss[-2], 1e-12))


def loss_vs_counts(N: np.ndarray, L: np.ndarray, n_boot: int = 300):
    """The power law ℓ ∝ N^b fitted on every subtask's (N_k, ℓ_k) points at once, each subtask's
    points divided by their geometric means (so subtasks of different difficulty share one
    exponent), over the subtasks with at least 3 distinct positive counts. ``N``, ``L``:
    ``[..., K]`` (any leading model axes). Returns ``(fit or None, subtasks used)``.

    >>> n = np.array([[10.0, 40.0], [20.0, 80.0], [40.0, 160.0], [80.0, 320.0]])
    >>> fit, used = loss_vs_counts(n, np.array([3.0, 0.5]) / n, n_boot=50)
    >>> round(fit.exponent, 6), used
    (-1.0, 2)
    """
    xs, ys = [], []
    N2, L2 = N.reshape(-1, N.shape[-1]), L.reshape(-1, L.shape[-1])
    for k in range(N2.shape[1]):
        ok = (N2[:, k] > 0) & (L2[:, k] > 0)
        if np.unique(N2[ok, k]).size >= 3:
            x, y = np.log(N2[ok, k]), np.log(L2[ok, k])
            xs.append(np.exp(x - x.mean())), ys.append(np.exp(y - y.mean()))
    if not xs:
        return None, 0
    return safe_fit(np.concatenate(xs), np.concatenate(ys), n_boot=n_boot), len(xs)


def emergence_claims(total: np.ndarray, R: np.ndarray, frequencies) -> tuple:
    """The multilinear model's parameter form calibrated on skill 1 (``R [n_widths, n_seeds,
    n_skills]``, R_k/S at ``total`` neurons) and one claim per later skill: the RMS error of its
    prediction, each seed's with a t interval over the seeds (``rms_claim``, the rule of Fig. 1),
    no test when skill 1 does not emerge within the family or skill k neither emerges nor is
    predicted to.

    >>> from interp.theory.calibration import calibrated_strength
    >>> n = np.array([8.0, 16, 32, 64, 128])
    >>> R = calibrated_strength("parameters", n, [1, 2, 3], [0.6, 0.3, 0.1], 20.0)[:, None, :].repeat(2, 1)
    >>> cal, rows = emergence_claims(n, R, [0.6, 0.3, 0.1])
    >>> round(cal.constant, 3), [row["agree"] for row in rows]
    (20.0, [True, True])
    >>> [row["agree"] for row in emergence_claims(n, 0 * R, [0.6, 0.3, 0.1])[1]]
    [None, None]
    """
    cal = calibrate("parameters", total, R[:, :, 0], frequencies=np.asarray(frequencies) / np.sum(frequencies),
                    n_boot=300)
    at, meas = cal.predict(total), R.mean(1)
    n_w, n_s = R.shape[:2]
    rows = []
    for k in range(2, R.shape[2] + 1):
        why = ("parity1 does not emerge within the family (mean R/S < 0.5 at the widest)" if meas[-1, 0] < 0.5 else
               f"parity{k} neither emerges nor is predicted to (R/S ≤ 0.1 at every width): two zeros test nothing"
               if max(meas[:, k - 1].max(), at[:, k - 1].max()) <= 0.1 else None)
        rows.append(rms_claim(f"LM family: parity{k} emergence with width, RMS error of the prediction from parity1",
                              "small (multilinear model)", R[:, :, k - 1], at[:, k - 1],
                              f"N_c = {cal.constant:.3g} [{cal.interval[0]:.3g}, {cal.interval[1]:.3g}] neurons fitted "
                              f"on parity1 over {n_w} widths × {n_s} seeds; the rule of Fig. 1", why))
    return cal, rows


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` ignoring NaN, NaN (without a warning) where every value is NaN."""
    n = np.isfinite(x).sum(axis)
    return np.where(n > 0, np.nansum(x, axis) / np.maximum(n, 1), np.nan)


def family_fits(label: str, what: str, N: np.ndarray, L: np.ndarray, total: np.ndarray, names, n_w: int,
                n_s: int) -> tuple:
    """Homogeneous growth (is N_k/N constant across the family?) and ℓ_k against N_k, for one
    count ``N [n_w, n_s, K]`` (NaN: no count); returns ``(growth or None, ℓ_k fit or None, claim
    rows)``."""
    K = N.shape[-1]
    flat = N.reshape(n_w * n_s, K)
    keep = np.all(np.isfinite(flat) & (flat > 0), 0)
    rows = []
    if keep.sum() >= 1:
        growth = homogeneous_growth(flat[:, keep], x=np.repeat(total, n_s), total=np.repeat(total, n_s), n_boot=300)
        ivs = growth.ratio_slope_intervals
        worst = int(np.argmax(np.abs(growth.ratio_slopes)))
        wide = max(hi - lo for lo, hi in ivs) > 2
        each = ", ".join(f"{n} {e:.2f} [{lo:.2f}, {hi:.2f}]" for n, e, (lo, hi) in
                         zip([n for n, kp in zip(names, keep) if kp], growth.ratio_slopes, ivs))
        rows.append(claim(f"LM family: homogeneous growth of {label}, largest |exponent of {label}/N vs N|",
                          "0 (homogeneous)", float(growth.ratio_slopes[worst]), list(ivs[worst]),
                          None if wide else growth.homogeneous,
                          f"{what}; the subtasks with neurons in all {n_w * n_s} models, each share's exponent: "
                          f"{each}; agree: every share's 95% CI covers 0; no test when one spans more than ±1"))
    else:
        growth = None
        rows.append(claim(f"LM family: homogeneous growth of {label}", "0 (homogeneous)", None, None, None,
                          f"{what}; no subtask has neurons in every model: no test"))
    fit, n_fitted = loss_vs_counts(np.nan_to_num(N, nan=0.0), L)
    rows.append(fit_claim(f"LM family: exponent of ℓ_k vs {label} (subtasks pooled, centred)", fit, -1.0,
                          "-1 (ℓ_k ∝ 1/N_k)", f"{what}; {n_fitted} subtasks with 3+ distinct counts; agree: -1 in "
                          "our 95% CI and 0 outside it; no test when the CI covers both", null=0.0))
    return growth, fit, rows


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    (sweep,) = sweeps(r)
    train_runs(out_dir, sweep, device)
    c = corpus(r)
    held = c.held(r.n_eval, EVAL_SEED)
    names, p = c.subtasks, c.weights.numpy()
    n_w, n_s, K = len(r.d_mlp), len(r.seeds), len(names)
    rows, done = [], []
    for one in sweep.runs:
        ck = load_run(runs_dir(out_dir), one)
        rows.append(measure(ck.model.to(device), held, c, r.tau))
        done.append(converged(ck.history))
    per_model = lambda key: np.array([m[key] for m in rows], dtype=float).reshape(n_w, n_s, -1)  # noqa: E731
    L, A, N = per_model("loss"), per_model("accuracy"), per_model("count")
    F = per_model("footprint")                                             # NaN where the MLP does not serve k
    total = np.array([r.n_layers * w for w in r.d_mlp], dtype=float)
    claims = []
    fig, (a, f, b, d, e) = figure(5)
    for k, name in enumerate(names):
        share = N[:, :, k] / total[:, None]
        a.errorbar(total, share.mean(1), yerr=share.std(1), fmt="o-", ms=3, capsize=2, color=f"C{k}", label=name)
        fshare, has = F[:, :, k] / total[:, None], np.isfinite(F[:, :, k]).any(1)     # widths with a footprint
        if has.any():
            f.errorbar(total[has], _nanmean(fshare[has], 1), yerr=np.nanstd(fshare[has], 1), fmt="s--", ms=3,
                       capsize=2, color=f"C{k}", label=name)
        served = F[:, :, k] > 0                                                         # False at NaN
        b.loglog(F[:, :, k][served], L[:, :, k][served], "s", ms=3, mfc="none", color=f"C{k}", alpha=0.7)
        ok = (N[:, :, k] > 0) & (L[:, :, k] > 0)
        b.loglog(N[:, :, k][ok], L[:, :, k][ok], "o", ms=3, color=f"C{k}", alpha=0.7)
    a.set_xscale("log"), a.set_xlabel("MLP neurons N"), a.set_ylabel("N_k / N")
    a.set_title(f"single-neuron shares (mean ± sd of {n_s} seeds)", fontsize=9), a.legend(fontsize=6)
    f.set_xscale("log"), f.set_yscale("log"), f.set_xlabel("MLP neurons N"), f.set_ylabel("N_k^½ / N")
    f.set_title(f"footprint shares (share {FOOTPRINT:g} of the MLP's cost)", fontsize=9), f.legend(fontsize=6)
    b.set_xlabel("N_k (dots, τ = %g nats), N_k^½ (squares)" % r.tau), b.set_ylabel("ℓ_k (nats)")
    b.set_title("loss vs neurons")

    # (i) homogeneous growth and (ii) ℓ_k vs N_k across the family, on both counts
    fits = {}
    for key, label, M, what in (("count", "N_k", N, f"single-neuron count (τ = {r.tau:g} nats)"),
                                ("footprint", "N_k^½", F, f"footprint (share {FOOTPRINT:g})")):
        growth, loss_fit, rows_g = family_fits(label, what, M, L, total, names, n_w, n_s)
        fits[key] = {"growth": growth, "loss_vs_counts": loss_fit}
        claims += rows_g
    # (ii') the facts subtask alone, the one whose learning the width bounds by design: ℓ vs N_k
    facts_fit = None
    if "facts" in names:
        k = names.index("facts")
        ok = (N[:, :, k] > 0) & (L[:, :, k] > 0)
        facts_fit = safe_fit(N[:, :, k][ok], L[:, :, k][ok], n_boot=300)
        claims.append(fit_claim("LM family: exponent of ℓ_facts vs N_facts (the capacity-bound subtask)", facts_fit,
                                -1.0, "-1 (ℓ_k ∝ 1/N_k)", f"{int(ok.sum())} models with a positive count; agree: -1 "
                                "in our 95% CI and 0 outside it; no test when the CI covers both", null=0.0))
    # (iii) N_k vs P_k, parity skills of the widest models
    par = slice(0, r.n_parity)
    counts, freq = N[-1, :, par], np.broadcast_to(p[par], N[-1, :, par].shape)
    ok = counts > 0
    p_fit = safe_fit(freq[ok], counts[ok], n_boot=300)
    d.loglog(freq[ok], counts[ok], "o", color="C0", alpha=0.6, label=f"N = {total[-1]:g}, each seed")
    if p_fit is not None:
        g = np.logspace(np.log10(freq[ok].min()), np.log10(freq[ok].max()), 20)
        d.loglog(g, p_fit.predict(g), "C0-", label=f"fit P^{p_fit.exponent:.2f}")
        d.loglog(g, p_fit.predict(g.max()) * (g / g.max()) ** 0.5, "k:", label="√P optimum")
    d.set_xlabel("frequency P_k (parity skills)"), d.set_ylabel("N_k"), d.set_title("neurons vs frequency")
    d.legend(fontsize=7)
    claims.append(fit_claim("LM family: exponent of N_k vs P_k (parity skills, widest models)", p_fit, 0.5,
                            "0.5 if ℓ_k ∝ 1/N_k (optimum)", f"{int(ok.sum())} (seed, skill) points; agree: 0.5 in "
                            "our 95% CI and 0 outside it; no test when the CI covers both", null=0.0))
    # (iv) emergence of the parity skills with width, against the multilinear model's parameter
    # form calibrated on skill 1 (R_k/S read as 2·accuracy − 1: 0 at chance, 1 when learned)
    R = np.clip(2 * A[:, :, par] - 1, 0, 1)                                 # [n_w, n_s, n_parity]
    cal, rows_iv = emergence_claims(total, R, p[par])
    claims += rows_iv
    grid = np.linspace(total.min() / 2, total.max() * 1.2, 200)
    pred = cal.predict(grid)
    for k in range(r.n_parity):
        e.errorbar(total, R[:, :, k].mean(1), yerr=R[:, :, k].std(1), fmt="o", ms=3, capsize=2, color=f"C{k}",
                   label=names[k])
        e.plot(grid, pred[:, k], color=f"C{k}", ls="--" if k else "-")
    e.set_xscale("log"), e.set_xlabel("MLP neurons N"), e.set_ylabel("R_k/S = 2·accuracy − 1")
    e.set_title(f"N_c = {cal.constant:.3g} on parity1 (solid), the rest predicted", fontsize=9)
    e.legend(fontsize=6)
    summary = "; ".join(f"N={t:g}: N_k {np.round(N[i].mean(0), 1).tolist()}, N_k^½ "
                        f"{np.round(_nanmean(F[i], 0), 1).tolist()}" for i, t in enumerate(total))
    return finish(out_dir, NAME, fig, {
        "recipe": r, "subtasks": names, "frequencies": p, "neurons": total, "loss": L, "accuracy": A, "counts": N,
        "intervals": [m["interval"] for m in rows], "footprints": F, "footprint_share": FOOTPRINT,
        "converged": np.array(done).reshape(n_w, n_s),
        "fits": fits, "fit_facts_loss_vs_count": facts_fit, "fit_counts_vs_P": p_fit, "calibration": cal.to_dict()},
        claims,
        f"converged {sum(done)} of {len(done)}; mean N_k per width: " + summary, t0)
