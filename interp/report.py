"""What the analyses show a person: fits and theories drawn with their interval bands, and an
allocation as a text table and as stacked bars (``Allocation.table()`` and ``.plot()`` call
these), so example scripts stay thin.

The plot functions return a matplotlib ``Figure`` drawn on the Agg canvas (no pyplot state, no
display needed) and write it to ``path`` when given. matplotlib is imported inside the
functions, so ``import interp`` stays fast.

>>> import numpy as np
>>> from interp.theory.fits import fit_power_law
>>> x = np.logspace(0, 2, 10)
>>> fig = plot_power_law(fit_power_law(x, 2 * x ** -1.0, n_boot=50), x, 2 * x ** -1.0)
>>> len(fig.axes)
1
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from models.atomic import writing
from models.validate import check

from .theory.fits import PowerLawFit

__all__ = ["plot_power_law", "plot_growth", "plot_scaling_checks", "plot_calibration", "plot_emergence_law",
           "allocation_table", "plot_allocation"]


def _figure(n_panels: int = 1, size=(4.2, 3.2)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * n_panels, size[1]), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]
    return fig, axes


def _save(fig, path):
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with writing(p) as tmp:
            fig.savefig(tmp, dpi=130, format=p.suffix.lstrip(".") or "png")
    return fig


def _ci_text(fit: PowerLawFit) -> str:
    lo, hi = fit.exponent_interval
    return f"{fit.exponent:.3f} [{lo:.3f}, {hi:.3f}]"


def _draw_fit(ax, fit: PowerLawFit, x, color, label=None):
    x = np.asarray(x, dtype=np.float64)
    grid = np.logspace(math.log10(x.min()), math.log10(x.max()), 200)
    lo, hi = fit.predict_interval(grid)
    ax.fill_between(grid, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.plot(grid, fit.predict(grid), color=color, label=label)


def plot_power_law(fit: PowerLawFit, x, y, *, ax=None, label: str | None = None, color: str = "C0",
                   xlabel: str = "x", ylabel: str = "y", reference: float | None = None, excluded=None,
                   path=None):
    """Data ``x, y`` (log-log), the fitted law and its ``level`` band; ``reference`` draws a
    line of that exponent through the fit's geometric centre (e.g. −1); ``excluded``: an
    ``(x, y)`` pair of points left out of the fit (a loss floor's), drawn grey."""
    if ax is None:
        fig, (ax,) = _figure()
    else:
        fig = ax.figure
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ax.scatter(x, y, s=14, color=color, alpha=0.8, zorder=3)
    if excluded is not None and np.size(excluded[0]):
        ax.scatter(excluded[0], excluded[1], s=14, color="0.65", zorder=2, label="on the loss floor (not fitted)")
    _draw_fit(ax, fit, x, color, label=f"{label + ': ' if label else ''}exponent {_ci_text(fit)}")
    if reference is not None:
        xm = math.exp(np.mean(np.log(x)))
        grid = np.logspace(math.log10(x.min()), math.log10(x.max()), 50)
        ym = float(fit.predict([xm])[0])
        ax.plot(grid, ym * (grid / xm) ** reference, color="k", linestyle=":", label=f"exponent {reference:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_growth(test, *, path=None):
    """Homogeneous-growth test: neurons per subtask against the total (left, log-log) and
    each subtask's share N_i/N against ``test.x`` with the fitted trend and band (right)."""
    fig, (a0, a1) = _figure(2)
    tot = test.counts.sum(axis=1)
    for i, name in enumerate(test.names):
        color = f"C{i}"
        a0.scatter(tot, test.counts[:, i], s=14, color=color, label=name)
        a1.scatter(test.x, test.ratios[:, i], s=14, color=color)
        _draw_fit(a1, test.fits[i], test.x, color, label=f"{name}: slope {_ci_text(test.fits[i])}")
    grid = np.logspace(math.log10(tot.min()), math.log10(tot.max()), 20)
    for m in test.mean_ratio:
        a0.plot(grid, m * grid, color="0.6", linestyle=":", linewidth=1)
    a0.set_xscale("log")
    a0.set_yscale("log")
    a0.set_xlabel("total neurons N")
    a0.set_ylabel("neurons N_i")
    a0.legend(fontsize=7)
    a1.set_xscale("log")
    a1.set_xlabel("N" if test.against == "total" else "x")
    a1.set_ylabel("share N_i / N")
    a1.set_title("homogeneous" if test.homogeneous else "not homogeneous", fontsize=9)
    a1.legend(fontsize=7)
    return _save(fig, path)


_XLABEL = {"time": "T", "data": "D", "parameters": "N", "compute": "C = N·T"}


def plot_scaling_checks(checks, *, path=None):
    """One panel per :class:`~interp.emergence.ScalingCheck`: the model's loss curve, the
    fitted law with its band, and the theory (dotted) with its computed prefactor."""
    checks = tuple(checks)
    check(len(checks) >= 1, "checks", checks, "one or more ScalingCheck results")
    fig, axes = _figure(len(checks), size=(3.4, 3.0))
    for ax, c in zip(axes, checks):
        ax.plot(c.x, c.y, color="C0", linewidth=2, label="multilinear model")
        _draw_fit(ax, c.fit, c.x, "C1", label=f"fit {_ci_text(c.fit)}")
        ax.plot(c.x, c.theory.predict(c.x), color="k", linestyle=":",
                label=f"theory {c.theory.exponent:.3f}, A={c.theory.prefactor:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(_XLABEL.get(c.resource, c.resource))
        ax.set_ylabel("L")
        ax.legend(fontsize=6)
    return _save(fig, path)


def plot_calibration(calibration, x, measured, *, threshold: float = 0.05, log_x: bool = False, path=None):
    """Measured R_k/S (dashed, ± one standard deviation over repeats when ``measured`` is
    ``[n_points, M, n_skills]``) against the calibrated prediction (solid) with the band
    from the constant's interval; markers at the predicted emergence (R/S = threshold)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(measured, dtype=np.float64)
    check(m.ndim in (2, 3) and m.shape[0] == x.size, "measured", f"shape {m.shape}",
           f"[{x.size}, n_skills] or [{x.size}, M, n_skills]")
    mean = m if m.ndim == 2 else m.mean(axis=1)
    sd = None if m.ndim == 2 else m.std(axis=1)
    n_sk = mean.shape[1]
    fig, (ax,) = _figure(size=(5.2, 3.6))
    if log_x:
        pos = x[x > 0]
        grid = np.logspace(math.log10(pos.min()), math.log10(x.max()), 300)
    else:
        grid = np.linspace(x.min(), x.max(), 300)
    skills = np.arange(1, n_sk + 1)
    pred = calibration.predict(grid, skills)
    lo, hi = calibration.predict_band(grid, skills)
    tau = calibration.predicted_emergence(threshold, skills)
    for k in range(n_sk):
        color = f"C{k}"
        ax.plot(x, mean[:, k], color=color, linestyle="--", linewidth=1.2)
        if sd is not None:
            ax.fill_between(x, mean[:, k] - sd[:, k], mean[:, k] + sd[:, k], color=color, alpha=0.12, linewidth=0)
        ax.plot(grid, pred[:, k], color=color, linewidth=1.8, label=f"skill {k + 1}")
        ax.fill_between(grid, lo[:, k], hi[:, k], color=color, alpha=0.2, linewidth=0)
        if np.isfinite(tau[k]) and tau[k] > 0:
            ax.axvline(tau[k], color=color, linewidth=0.6, alpha=0.5)
    if log_x:
        ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.1)
    ax.set_xlabel({"time": "step", "data": "D", "parameters": "width N"}[calibration.resource])
    ax.set_ylabel("R_k / S")
    lo_c, hi_c = calibration.interval
    ax.set_title(f"calibrated on skill {calibration.skill}: constant {calibration.constant:.3g} "
                 f"[{lo_c:.3g}, {hi_c:.3g}]  (solid: prediction, dashed: measured)", fontsize=7)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_emergence_law(fit: PowerLawFit, tau, skills=None, *, alpha: float | None = None, path=None):
    """Emergence times τ_k against k (log-log) with the fitted exponent and band; with
    ``alpha``, the multilinear model's k^(α+1) through the fit's centre."""
    t = np.asarray(tau, dtype=np.float64)
    k = np.arange(1, t.size + 1, dtype=np.float64) if skills is None else np.asarray(skills, dtype=np.float64)
    keep = np.isfinite(t) & (t > 0)
    return plot_power_law(fit, k[keep], t[keep], xlabel="skill k", ylabel="emergence time τ_k",
                          reference=None if alpha is None else alpha + 1.0, path=path)


def allocation_table(a) -> str:
    """A per-layer, per-subtask text table (one per member for an ensemble)."""
    if a.n_members is not None:
        return "\n\n".join(allocation_table(m) for m in a)
    layers = a.by_layer()
    cols = [*a.subtasks, "shared", "unallocated", "dead", "live", "total"]   # by_layer()'s columns
    total = {c: sum(r[c] for r in layers.values()) for c in cols}
    rows = [[s, *[str(r[c]) for c in cols]] for s, r in layers.items()] + [["all", *[str(total[c]) for c in cols]]]
    head = ["site", *cols]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    fmt = lambda r: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    title = f"method={a.method} threshold={a.threshold:g} dominance={a.dominance:g} " \
            f"live={a.live_rule}>{a.live_threshold:g} " \
            f"n_samples={a.n_samples}" + (f" member={a.member}" if a.member is not None else "")
    if a.failed:
        title += f" FAILED: {next(iter(a.failed.values()))}"
    lines = [title, fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows)]
    if a.stderr is not None and not a.failed:
        est = a.estimate()
        decided = f"at false-discovery rate {a.fdr:g}" if a.fdr is not None else "by point estimates"
        lines.append("how many neurons serve each subtask (estimate [95% interval]): " +
                     ", ".join(f"{k} {e.statement}" for k, e in est.items()))
        lines.append(f"certified one by one ({decided}): " + ", ".join(f"{k} {v}" for k, v in a.counts().items()))
    census = a.notes.get("census")
    if census:
        lines.append("census design (exact ablations, single + block): " + ", ".join(
            f"{k} {c['single_ablations']} + {c['block_ablations']}" for k, c in census.items())
            + f"; τ = {a.notes['tau']:g} ({a.notes['tau_units']}), screen {a.notes['screen']}")
    v = a.notes.get("missed_upper_95")
    if v is not None:
        measured = (f"{a.notes['candidates_measured']} of the attribution screen's {a.notes['n_candidates']} "
                    f"top candidates and {a.notes['sample_measured']} of a random sample of "
                    f"{a.notes['n_sample']} others ({a.notes['passes']:g} passes over the samples)"
                    if "candidates_measured" in a.notes else
                    f"{a.notes['n_candidates']} top candidates of the attribution screen and a random sample "
                    f"of {a.notes['n_sample']} others")
        lines.append(f"verified by exact ablation: {measured}; serving "
                     f"neurons left unverified (the screen may have missed them): "
                     f"{a.notes['missed_estimate']:.0f} (95% bound {v:.0f}); of those left, assigned "
                     f"otherwise by the estimate than by exact ablation: "
                     f"{a.notes['misassigned_estimate']:.0f} (95% bound "
                     f"{a.notes['misassigned_upper_95']:.0f})")
    return "\n".join(lines)


def plot_allocation(a, ax=None):
    """Stacked bars: per site, the neurons serving each subtask, shared and live-unallocated.
    Returns the matplotlib axes."""
    check(a.n_members is None, "allocation", f"an ensemble of {a.n_members}",
          "a single model's allocation for plot(): take one member with alloc[i]")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 0.8 * len(a.sites), 3.2))
    layers = a.by_layer()
    x = np.arange(len(a.sites))
    bottom = np.zeros(len(a.sites))
    for name in [*a.subtasks, "shared", "unallocated"]:
        h = np.array([layers[s][name] for s in a.sites], dtype=float)
        if name in ("shared", "unallocated") and not h.any():
            continue
        ax.bar(x, h, bottom=bottom, label=name if name != "unallocated" else "live, unallocated")
        bottom += h
    ax.set_xticks(x, list(a.sites), rotation=30, ha="right")
    ax.set_ylabel("neurons")
    ax.set_title(f"allocation ({a.method})")
    ax.legend(fontsize="small")
    return ax
