"""Which subtask each neuron serves, and how many serve each: ``interp.allocate(model, task, method=...)``.

One score matrix ``[neurons, subtasks]`` per site, filled by a registered scorer
(``interp.scorers``: ``weights``, ``ablation``, ``attribution``, ``verified``, ``census``,
``probe``), then a threshold. Scores are normalised so one threshold reads the same on every
model: for ``ablation``, ``attribution``, ``verified`` and ``census`` the score is the same
quantity, the mean loss change of a subtask when the neuron is replaced by its mean, divided by
that subtask's loss (measured exactly, estimated to first order, or measured where it matters
and estimated elsewhere); default threshold 0.01 for all four. ``weights`` (0.05) is the share
of a neuron's input variance from each subtask's inputs; ``probe`` (0.5) its ``|corr|`` with
the task's intermediate quantities.

A neuron is live under ``live_rule`` (``interp.neurons``: the paper's absolute variance >
1e-3 on the zoo, a rule relative to each site's scale on language models); a live neuron
serves subtask k when its score for k reaches the threshold and at least ``dominance`` (0.1)
of its largest score, so a side effect a tenth the size of a neuron's main effect does not
make it shared. It is then assigned to that subtask, to ``"shared"`` when it serves several,
or to ``"unallocated"`` when it serves none (dead neurons are always unallocated and are not
ablated: their score is 0).

Two outputs, kept apart: the decisions, neuron by neuron (``assigned``, ``neurons``,
``counts()``: the neurons certified), and the count, how many neurons serve each subtask with
its interval (``estimate()``; ``count_intervals()`` its interval). With exact scores and no
error they coincide; where scores are estimated or measured on a sample of the neurons they
do not, and the count is the number to cite.

``method="auto"`` reads ``weights`` off a one-hidden-layer zoo MLP, ablates exactly when the
live neurons are at most ``ABLATION_LIMIT``, and otherwise runs ``census`` (``interp.census``),
whose scores mean the same as ablation's and whose count carries an interval;
``Allocation.method`` says which ran and ``notes["auto"]`` why (``choose_method``).

The result, ``Allocation``, lives in ``interp.allocation_result``; this module runs the
analysis: the first pass (``base_pass``), the choice of method, the scorer, and ``agreement``
between two allocations.

>>> import torch, models, interp
>>> task = models.tasks.Parallel(beta=0.75)
>>> net = models.MLP(models.MLPConfig(d_in=2, widths=(6,), d_out=2))
>>> with torch.no_grad():
...     _ = net.layers[0].weight.copy_(torch.tensor([[1., 0], [-1, 0], [0, 1], [0, -1], [0, 0], [1, 1]]))
>>> alloc = interp.allocate(net, task, method="weights")
>>> alloc.counts(), alloc.assignment("hidden.0")
({'x1^2': 3, 'x2^2': 3}, ['x1^2', 'x1^2', 'x2^2', 'x2^2', 'unallocated', 'shared'])
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

import probes
from models.tasks import Task
from models.validate import check, check_bool, check_number, check_seed, is_int, is_number

from .allocation_result import FDR, SHARED, UNALLOCATED, Allocation
from .evaluation import check_n_samples, check_piece_memory, check_task, eval_pieces, failed_members, input_groups
from .neurons import live_mask, live_rule_for
from .scorers import SCORERS, ScoreContext, check_options, output_of, progress_bar, scorer
from . import census  # noqa: F401  (registers method="census")

METHODS = ("auto", *sorted(SCORERS))
"""The built-in methods (``interp.scorers.SCORERS`` holds these and any registered later)."""
DEFAULT_THRESHOLDS = {name: s.default_threshold for name, s in SCORERS.items()}
ABLATION_LIMIT = 4096
"""``auto`` ablates every live neuron exactly up to this many, and runs ``census`` beyond."""
BATCH_TOKENS = 512
"""Default size of a streamed piece, in tokens (a sample of a token task counts its length,
any other sample one), so peak memory does not grow with the evaluation set."""

__all__ = ["allocate", "Allocation", "agreement", "base_pass", "choose_method", "METHODS", "DEFAULT_THRESHOLDS",
           "ABLATION_LIMIT", "BATCH_TOKENS", "FDR", "SHARED", "UNALLOCATED"]


# --------------------------------------------------------------------------------------------
def allocate(model: nn.Module, task: Task | None = None, method: str = "auto", *, inputs: Any = None,
             sites: str | Sequence[str] | None = None, threshold: float | None = None, dominance: float = 0.1,
             live_rule: str = "auto", live_threshold: float = 1e-3, n_samples: int = 4096, seed: int = 0,
             batch_size: int | None = None, batch_tokens: int = BATCH_TOKENS, max_elements: int = 2**24,
             progress: bool = True, options: dict | None = None, fdr: float | None = FDR) -> Allocation:
    """Account for the neurons of ``model`` on ``task``: live or not, a score per subtask, an
    assignment, and how many serve each subtask (see the module docs for the methods,
    thresholds and live rules). ``model``: a module, or a ``models.Checkpoint`` (its model, and
    the task saved with it when ``task`` is None).

    ``inputs``: the evaluation set (a ``Batch`` or a list of them); by default
    ``task.eval_batch(n_samples, Generator(seed))``. It streams in pieces of ``batch_size``
    samples, by default as many as fit in ``batch_tokens`` tokens (a token task's sample
    counts its sequence length), so peak memory is flat in the size of the evaluation set.
    ``sites``: default, the model's neuron sites. ``live_rule``: ``auto`` (relative on
    language models, the paper's absolute 1e-3 on the zoo), ``absolute`` or ``relative``,
    with ``live_threshold``. ``threshold`` (per-method default) and ``dominance`` decide which
    subtasks a live neuron serves; ``Allocation.rethreshold`` changes them afterwards.
    ``progress`` shows a bar on passes that take more than two seconds; ``options`` go to
    the scorer (e.g. ``{"candidates": 0.1, "sample": 256}`` for ``verified``).
    ``max_elements`` bounds the side-by-side ablation batches. ``fdr``: the false-discovery
    rate of the decisions "serves k" where scores carry standard errors (None: point estimates). An ensemble
    (``models.Ensemble``) gives one ``Allocation`` with a member axis, a sequence of members.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    >>> alloc = interp.allocate(net, models.tasks.Square(), method="ablation", n_samples=256)
    >>> alloc.method, sorted(alloc.counts()), alloc.live_rule
    ('ablation', ['x^2'], 'absolute')
    """
    from models.checkpoint import Checkpoint

    if isinstance(model, Checkpoint):
        task = model.task if task is None else task
        check(task is not None, "task", None, "a Task (this checkpoint was saved without one)")
        model = model.model
    check(isinstance(model, nn.Module), "model", type(model).__name__, "a torch nn.Module or a models.Checkpoint")
    check(task is not None, "task", None, "a Task (the subtasks to account for), or a Checkpoint that saved one")
    check(isinstance(method, str) and (method == "auto" or method in SCORERS), "method", method,
          f"one of {['auto', *sorted(SCORERS)]}")
    check_number("live_threshold", live_threshold, 0.0, what="a finite number ≥ 0")
    check(is_int(max_elements) and max_elements >= 1, "max_elements", max_elements, "an integer ≥ 1")
    check_number("dominance", dominance, 0.0, 1.0)
    check(threshold is None or (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
                                and math.isfinite(threshold)), "threshold", threshold,
          "None (the method's default) or a finite number")
    check(batch_size is None or (is_int(batch_size) and batch_size >= 1), "batch_size", batch_size,
          "None (pieces of batch_tokens tokens) or an integer ≥ 1")
    check(is_int(batch_tokens) and batch_tokens >= 1, "batch_tokens", batch_tokens, "an integer ≥ 1")
    check(options is None or isinstance(options, dict), "options", options, "None or a dict of scorer settings")
    check(fdr is None or (is_number(fdr) and 0 < fdr < 1), "fdr", fdr, "None or a rate in (0, 1)")
    check_options(method, options or {})
    check_seed("seed", seed)
    check_bool("progress", progress)
    rule = live_rule_for(model, live_rule)
    check_task(model, task)
    if inputs is None:
        check_n_samples(n_samples, task)
    names = probes.resolve_sites(model, sites)
    if batch_size is None:
        probe = task.eval_batch(1, torch.Generator().manual_seed(0)) if inputs is None else inputs
        batch_size = max(1, batch_tokens // _tokens_per_sample(probe))
    check_piece_memory(model, batch_size, task.eval_count(n_samples) if inputs is None else None,
                       4 * (task.d_in + task.d_out) + 8)
    pieces = eval_pieces(model, task, inputs, n_samples, seed, batch_size)
    members = probes.n_members(model)

    notes = {"model": type(model).__name__, "task": _summary(task)}
    intermediates = None
    if method == "probe":
        q = task.intermediates(pieces[0].x)
        check(len(q) > 0, "method", method,
              f"a task with intermediate quantities (task.intermediates); {task!r} has none")
        intermediates = list(q)
    base = base_pass(model, task, pieces, names, members, intermediates, progress)
    failed = dict(sorted({**base["failed"], **failed_members(model)}.items()))
    live = {s: live_mask(torch.nan_to_num(v, nan=0.0), rule, live_threshold) for s, v in base["var"].items()}
    for s in live:
        live[s][list(failed)] = False   # a failed member is not scored and counts nothing
    n_live = sum(int((live[s] if members is None else live[s].any(0)).sum()) for s in names)
    if method == "auto":
        method, notes["auto"] = choose_method(model, task, n_live)
    if threshold is None:
        threshold = scorer(method).default_threshold
    ctx = ScoreContext(model=model, task=task, pieces=pieces, sites=names, base=base, live=live, members=members,
                       threshold=float(threshold), dominance=float(dominance), max_elements=max_elements,
                       progress=progress, seed=seed, options=dict(options or {}))
    with probes.evaluating(model):
        result = scorer(method)(ctx)
    return Allocation.from_scores(method, result, base, live, subtasks=tuple(task.subtasks), sites=names,
                                  members=members, failed=failed, threshold=threshold, dominance=dominance,
                                  live_threshold=live_threshold, live_rule=rule, notes=notes, fdr=fdr)


def _tokens_per_sample(inputs) -> int:
    """A token task's sample is a sequence ``[L]`` of integer ids: L tokens; anything else 1."""
    first = inputs if not isinstance(inputs, (list, tuple)) or not inputs else inputs[0]
    x = getattr(first, "x", first)
    if isinstance(x, torch.Tensor) and x.dim() == 2 and not x.is_floating_point():
        return max(1, int(x.shape[1]))
    return 1


def _summary(task: Task) -> str:
    summary = getattr(task, "summary", None)
    return summary() if callable(summary) else repr(task)


def choose_method(model: nn.Module, task: Task, n_live: int) -> tuple[str, str]:
    """What ``method="auto"`` runs on ``model`` with ``n_live`` live neurons, and why:
    ``weights`` on a one-hidden-layer zoo MLP whose task's subtasks read known input groups,
    else exact ``ablation`` of every live neuron up to ``ABLATION_LIMIT``, else ``census``."""
    weights = probes.mlp_weights(model)
    if weights is not None and len(weights) == 2 and input_groups(task) is not None:
        return "weights", "one hidden layer reading known input groups: weights"
    if n_live <= ABLATION_LIMIT:
        return "ablation", f"{n_live} live neurons: exact ablation of each"
    return "census", f"{n_live} live neurons > {ABLATION_LIMIT}: the census design (interp.census) counts them"


def base_pass(model, task, pieces, names, members, intermediates, progress: bool = False) -> dict:
    """The pass every scorer starts from: over the evaluation ``pieces``, each site's activation
    moments (mean and variance per neuron, and correlations with ``intermediates`` when given)
    and the subtasks' weighted losses (``{"mean", "var", ...}``, each by site)."""
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    acc: dict[str, probes.Moments] = {}
    current = {}
    loss_sum = torch.zeros(*lead, K, dtype=torch.float64)
    weight_sum = torch.zeros(K, dtype=torch.float64)
    n = 0

    def on_act(site, act):
        a = probes.as_samples(act.detach(), members)
        if site not in acc:
            acc[site] = probes.Moments(a.shape[-1], lead=lead, cross=len(intermediates or ()))
        y = None
        if intermediates:
            y = probes.broadcast_targets(current["q"], act, members)
        acc[site].update(a, y)

    with torch.no_grad(), probes.evaluating(model), probes.attached(model, names, on_act), \
            progress_bar(len(pieces), "statistics", progress) as bar:
        for batch in pieces:
            if intermediates:
                q = task.intermediates(batch.x)
                current["q"] = torch.stack([q[name].reshape(batch.x.shape[0]) for name in intermediates], -1)
            pred = output_of(model(batch.x))
            losses, w = task.sample_losses(pred, batch, len(lead))
            loss_sum += losses.detach().double().sum(-2).cpu()
            weight_sum += w.double().sum(0).cpu()
            n += batch.x.shape[0]
            bar.update(1)
    failed: dict[int, str] = {}
    for s in names:
        check(s in acc, "sites", s, "a site the forward pass runs through (this one never fired)")
        bad = probes.nonfinite_members(torch.stack([acc[s].mean, acc[s].m2], -2), members)
        probes.flag_nonfinite("activations", {m: f"NaN/inf at site {s}" for m in bad}, members, failed)
    losses = loss_sum / weight_sum.clamp_min(1e-300)
    bad = probes.nonfinite_members(losses, members)
    probes.flag_nonfinite("losses", {m: f"NaN/inf subtask losses {losses[m].tolist() if members else losses.tolist()} "
                                        f"(the model's outputs hold NaN/inf)" for m in bad}, members, failed)
    return {"mean": {s: acc[s].mean for s in names}, "var": {s: acc[s].var for s in names},
            "cross": {s: acc[s].cross_corr() for s in names} if intermediates else None,
            "intermediates": intermediates, "failed": failed,
            "losses": losses, "weight_sum": weight_sum, "n_samples": n}


def agreement(a: Allocation, b: Allocation, neurons: dict[str, np.ndarray] | None = None) -> dict:
    """How far two allocations of one model agree, over the neurons live in both (or the
    boolean masks ``neurons[site]``): per subtask, Spearman's rank correlation of the scores
    and the overlap (Jaccard index) of the neurons each assigns, with the sizes of both sets.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=2, widths=(16, 16), d_out=2))
    >>> task = models.tasks.Parallel(beta=0.5)
    >>> x = interp.allocate(net, task, method="ablation", n_samples=500)
    >>> interp.agreement(x, x)["spearman"]
    {'x1^2': 1.0, 'x2^2': 1.0}
    """
    from scipy.stats import spearmanr

    for name, al in (("a", a), ("b", b)):
        check(isinstance(al, Allocation) and al.n_members is None, name, type(al).__name__,
              "a single model's Allocation (take alloc[i] of an ensemble)")
    check(a.sites == b.sites and a.subtasks == b.subtasks, "b", f"sites {b.sites}, subtasks {b.subtasks}",
          f"the same sites and subtasks as a ({a.sites}, {a.subtasks})")
    sa, sb, asa, asb = [], [], [], []
    for s in a.sites:
        m = a.live[s] & b.live[s] if neurons is None else np.asarray(neurons[s], dtype=bool)
        sa.append(a.scores[s][m])
        sb.append(b.scores[s][m])
        asa.append(a.assigned(s)[m])
        asb.append(b.assigned(s)[m])
    sa, sb, asa, asb = (np.concatenate(v) for v in (sa, sb, asa, asb))
    out = {"neurons": int(sa.shape[0]), "spearman": {}, "jaccard": {}, "assigned_a": {}, "assigned_b": {}}
    for k, name in enumerate(a.subtasks):
        ok = sa.shape[0] > 2 and np.ptp(sa[:, k]) > 0 and np.ptp(sb[:, k]) > 0
        out["spearman"][name] = float(spearmanr(sa[:, k], sb[:, k]).statistic) if ok else None
        union = int((asa[:, k] | asb[:, k]).sum())
        out["jaccard"][name] = float((asa[:, k] & asb[:, k]).sum() / union) if union else None
        out["assigned_a"][name] = int(asa[:, k].sum())
        out["assigned_b"][name] = int(asb[:, k].sum())
    return out
