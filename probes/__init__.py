"""Reading a network's insides: named activation sites, streaming statistics, probes.

``capture(model, inputs, sites, stats)`` runs any zoo model, TransformerLens 4 bridge or plain
``nn.Module`` over inputs in batches and keeps only the asked statistics (float64 running
moments, so memory does not grow with the inputs). Sites are hook-point or module names
(``probes.neuron_sites(model)`` lists a model's neurons). An ensemble's statistics are kept
per member, with a leading member axis.

>>> import torch, models, probes
>>> net = models.MLP(models.MLPConfig(d_in=2, widths=(8,), d_out=2))
>>> acts = probes.capture(net, torch.rand(500, 2), stats=("mean", "var"))
>>> acts["hidden.0"].var.shape
torch.Size([8])
"""
from .stream import (STATS, Activations, SiteStats, as_samples, batches, broadcast_targets, capture, check_finite,
                     flag_nonfinite, nonfinite_members)
from .sites import (attached, available_sites, evaluating, hook_dict, mlp_weights, model_device, n_members, neuron_sites, resolve,
                    resolve_sites, to_device)
from .stats import Moments

__all__ = ["capture", "Activations", "SiteStats", "STATS", "batches", "as_samples", "broadcast_targets", "Moments",
           "check_finite", "nonfinite_members", "flag_nonfinite",
           "neuron_sites",
           "available_sites", "resolve", "resolve_sites", "attached", "evaluating", "n_members", "model_device", "hook_dict", "mlp_weights",
           "to_device"]
