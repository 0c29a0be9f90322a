"""Scorers: one interface and one registry for the ways of scoring neurons against subtasks.

A scorer is a function ``scorer(ctx: ScoreContext) -> Scores``: from the model, task,
evaluation pieces, sites, live masks and the statistics of a first pass (``ctx.base``), it
fills one score matrix ``[(M,) n, K]`` per site. ``SCORERS`` maps each method name to its
``Scorer`` (the function, its default threshold and what the score measures);
``register_scorer`` adds one. ``interp.allocate(model, task, method=name)`` runs them.

Built in (scores relative to each subtask's loss unless said otherwise):

- ``weights``: share of a neuron's input variance coming from each subtask's inputs (zoo MLPs);
- ``ablation``: the loss change when the neuron is replaced by its mean, exact;
- ``attribution``: the first-order estimate of that same change, ``Σ ∂ℓ_k/∂a · (mean − a)``
  (signed, so it estimates the same quantity and one threshold reads the same for both);
- ``verified``: attribution as a screen, then exact ablation of the top candidates and of a
  random sample of the rest, which bounds the neurons the screen may have missed
  (after AtP*, Kramár et al. 2024): exact where it matters, at a fraction of ablation's cost;
- ``probe``: ``|corr|`` with the task's intermediate quantities (columns: those quantities);
- ``census`` (``interp.census``, registered when ``interp.allocation`` loads): exact ablation
  of the neurons a sampling design picks, with a count and its interval.

The package: ``registry`` (the contract, the registry and ``check_options``), ``passes``
(what every scorer's passes share), ``ablation`` (exact mean ablation and its scorer), and a
module for each other scorer: ``attribution``, ``verified``, ``weights``, ``probe``. Each
scorer declares its settings, and the rules for their values, where it registers.

>>> import interp.allocation
>>> sorted(SCORERS)
['ablation', 'attribution', 'census', 'probe', 'verified', 'weights']
>>> SCORERS["ablation"].default_threshold
0.01
"""
from .ablation import Meter, ablation_deltas, ablation_scorer, block_shares, exact_ablation, live_ids
from .attribution import attribution_scorer, attribution_sums
from .passes import output_of, progress_bar, sample_size
from .probe import probe_scorer
from .registry import SCORERS, ScoreContext, Scorer, Scores, check_options, register_scorer, scorer
from .verified import BUDGET, MIN_SAMPLES, ROUNDS, shuffled_rounds, verified_scorer
from .weights import weights_scorer

SCORERS.reserved.update(SCORERS)   # the toolkit's own methods: no scorer of a user's may take their names

__all__ = ["SCORERS", "Scorer", "ScoreContext", "Scores", "register_scorer", "scorer", "check_options",
           "ablation_deltas", "exact_ablation", "live_ids", "attribution_sums", "output_of", "sample_size",
           "progress_bar", "Meter", "block_shares", "shuffled_rounds", "ROUNDS", "MIN_SAMPLES", "BUDGET",
           "ablation_scorer", "attribution_scorer", "verified_scorer", "weights_scorer", "probe_scorer"]
