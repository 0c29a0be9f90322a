"""Unlabelled modules: group neurons without being told the subtasks.

``cluster_neurons(model, task, method=...)``:

- ``graph``: modules as connected components (networkx) of the strong-weight graph of a zoo
  MLP: nodes are the inputs, the live neurons and the outputs; an edge ``j -> n`` is kept
  when the signal it carries, ``|w_jn|·std(a_j)``, is at least ``edge_threshold`` of the
  strongest signal reaching ``n``. A *module* is a component joining at least one input to
  at least one output; the parallel x² network falls apart into two.
- ``scores``: agglomerative clustering (scikit-learn) of live neurons by their allocation
  score profiles (rows of ``Allocation.scores``, normalised to sum 1).
- ``coactivation``: agglomerative clustering of each site's live neurons with distance
  ``1 − |corr|`` between their activations (streamed co-moments).

>>> import torch, models, interp
>>> net = models.MLP(models.MLPConfig(d_in=2, widths=(4,), d_out=2))
>>> with torch.no_grad():
...     _ = net.layers[0].weight.copy_(torch.tensor([[1., 0], [-1, 0], [0, 1], [0, -1]]))
...     _ = net.layers[1].weight.copy_(torch.tensor([[1., 1, 0, 0], [0, 0, 1, 1]]))
>>> interp.cluster_neurons(net, models.tasks.Parallel()).n_modules
2
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

import probes
from models.tasks import Task
from models.validate import check

from .evaluation import as_input

METHODS = ("graph", "scores", "coactivation")


@dataclass(frozen=True)
class Clusters:
    """Neuron groups. ``labels[site]``: per neuron its group (``-1``: dead, or in no module);
    ``modules``: per group, its neurons per site (and, for ``graph``, the inputs and outputs
    it joins)."""

    method: str
    labels: dict[str, np.ndarray]
    modules: list[dict]
    notes: dict = field(default_factory=dict)

    @property
    def n_modules(self) -> int:
        return len(self.modules)

    def sizes(self) -> list[int]:
        """Neurons in each module."""
        return [sum(len(v) for v in m["neurons"].values()) for m in self.modules]

    def to_dict(self) -> dict:
        return {"method": self.method, "n_modules": self.n_modules, "sizes": self.sizes(), "notes": self.notes,
                "labels": {k: v.tolist() for k, v in self.labels.items()},
                "modules": [{**m, "neurons": {s: list(map(int, v)) for s, v in m["neurons"].items()}}
                            for m in self.modules]}


def cluster_neurons(model: nn.Module, task: Task | None = None, method: str = "graph", *, inputs: Any = None,
                    allocation=None, n_clusters: int | None = None, distance_threshold: float = 0.5,
                    edge_threshold: float = 0.1, live_threshold: float = 1e-3, sites: str | Sequence[str] | None = None,
                    n_samples: int = 4096, seed: int = 0, batch_size: int = 1024) -> Clusters:
    """Group neurons into modules (see the module docs for the methods).

    ``task`` or ``inputs`` give the inputs statistics are taken over. For ``scores``, pass an
    ``allocation`` (else one is computed with ``interp.allocate(model, task)``). For the
    clustering methods, ``n_clusters`` fixes the number of groups; otherwise groups are cut
    at ``distance_threshold``. An ensemble must be split first (``ensemble.member(i)``).

    >>> import torch, models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=2, widths=(6,), d_out=2))
    >>> interp.cluster_neurons(net, models.tasks.Parallel(), method="coactivation", n_clusters=2).n_modules
    2
    """
    check(method in METHODS, "method", method, f"one of {METHODS}")
    check(probes.n_members(model) is None, "model", type(model).__name__,
          "a single model: pick an ensemble member with ensemble.member(i)")
    check(0 <= edge_threshold <= 1, "edge_threshold", edge_threshold, "a number in [0, 1]")
    if n_clusters is not None:
        check(isinstance(n_clusters, int) and n_clusters >= 1, "n_clusters", n_clusters, "an integer ≥ 1 or None")
    if method == "scores":
        return _by_scores(model, task, allocation, inputs, n_clusters, distance_threshold, live_threshold, sites,
                          n_samples, seed, batch_size)
    x = as_input(model, task, inputs, n_samples, seed)
    if method == "graph":
        return _graph(model, x, edge_threshold, live_threshold, batch_size)
    return _coactivation(model, x, sites, n_clusters, distance_threshold, live_threshold, batch_size)


def _agglomerate(features: np.ndarray | None, distances: np.ndarray | None, n_clusters,
                 distance_threshold) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    n = (features if features is not None else distances).shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    k = None if n_clusters is None else min(n_clusters, n)
    kw = dict(n_clusters=k, distance_threshold=None if k is not None else distance_threshold, linkage="average")
    if distances is not None:
        return AgglomerativeClustering(metric="precomputed", **kw).fit_predict(distances)
    return AgglomerativeClustering(metric="euclidean", **kw).fit_predict(features)


def _modules_from_labels(labels: dict[str, np.ndarray]) -> list[dict]:
    groups = sorted({int(v) for arr in labels.values() for v in arr if v >= 0})
    mods = [{"neurons": {s: np.flatnonzero(arr == g) for s, arr in labels.items() if (arr == g).any()}} for g in groups]
    order = sorted(range(len(mods)), key=lambda i: -sum(len(v) for v in mods[i]["neurons"].values()))
    remap = {groups[i]: new for new, i in enumerate(order)}
    for s, arr in labels.items():
        labels[s] = np.array([remap.get(int(v), -1) for v in arr], dtype=int)
    return [mods[i] for i in order]


def _by_scores(model, task, allocation, inputs, n_clusters, distance_threshold, live_threshold, sites, n_samples,
               seed, batch_size) -> Clusters:
    if allocation is None:
        check(task is not None, "task", None, "a task (or an allocation) for method='scores'")
        from .allocation import allocate
        allocation = allocate(model, task, inputs=inputs, sites=sites, live_threshold=live_threshold,
                              n_samples=n_samples, seed=seed, batch_size=batch_size)
    check(hasattr(allocation, "scores") and hasattr(allocation, "sites"), "allocation", type(allocation).__name__,
          "an interp.Allocation of this model")
    rows, where = [], []
    for s in allocation.sites:
        sc = np.clip(allocation.scores[s], 0, None)
        live = allocation.live[s]
        for i in np.flatnonzero(live):
            total = sc[i].sum()
            rows.append(sc[i] / total if total > 0 else np.zeros_like(sc[i]))
            where.append((s, i))
    feats = np.array(rows).reshape(len(rows), len(allocation.subtasks))
    lab = _agglomerate(feats, None, n_clusters, distance_threshold)
    labels = {s: np.full(allocation.live[s].shape[0], -1, dtype=int) for s in allocation.sites}
    for (s, i), l in zip(where, lab):
        labels[s][i] = l
    mods = _modules_from_labels(labels)
    for m in mods:  # the mean profile says which subtasks a group serves
        prof = np.mean([feats[j] for j, (s, i) in enumerate(where) if i in set(m["neurons"].get(s, []))], axis=0)
        m["profile"] = {name: float(v) for name, v in zip(allocation.subtasks, prof)}
    return Clusters("scores", labels, mods, {"allocation_method": allocation.method})


def _coactivation(model, x, sites, n_clusters, distance_threshold, live_threshold, batch_size) -> Clusters:
    acts = probes.capture(model, x, sites=sites, stats=("var", "corr"), batch_size=batch_size)
    labels, offset = {}, 0
    for s, st in acts.items():
        live = (st.var > live_threshold).numpy()
        idx = np.flatnonzero(live)
        dist = 1.0 - st.corr.abs().numpy()[np.ix_(idx, idx)]
        np.fill_diagonal(dist, 0.0)
        lab = _agglomerate(None, np.clip(dist, 0, None), n_clusters, distance_threshold)
        arr = np.full(live.shape[0], -1, dtype=int)
        arr[idx] = lab + offset
        offset += (lab.max() + 1) if lab.size else 0
        labels[s] = arr
    return Clusters("coactivation", labels, _modules_from_labels(labels))


def _graph(model, x, edge_threshold, live_threshold, batch_size) -> Clusters:
    import networkx as nx

    weights = probes.mlp_weights(model)
    check(weights is not None, "method", "graph",
          f"a zoo MLP (layers of weights to read); {type(model).__name__} has none: use 'coactivation' or 'scores'")
    hidden = [f"hidden.{i}" for i in range(len(weights) - 1)]
    acts = probes.capture(model, x, sites=hidden, stats=("var",), batch_size=batch_size)
    xs = probes.Moments(x.shape[-1])
    for piece in probes.batches(x, batch_size):
        xs.update(piece.reshape(-1, x.shape[-1]))
    layers = [[("input", i) for i in range(x.shape[-1])]] + [[(s, j) for j in range(acts[s].width)] for s in hidden]
    layers.append([("output", o) for o in range(weights[-1].shape[-1])])
    std = [xs.var.sqrt()] + [acts[s].var.sqrt() for s in hidden]
    alive = [torch.ones(x.shape[-1], dtype=torch.bool)] + [acts[s].var > live_threshold for s in hidden]
    alive.append(torch.ones(weights[-1].shape[-1], dtype=torch.bool))
    g = nx.Graph()
    for nodes, ok in zip(layers, alive):
        g.add_nodes_from(n for n, keep in zip(nodes, ok.tolist()) if keep)
    for l, w in enumerate(weights):
        flow = w.double().abs() * std[l].unsqueeze(-1)  # [fan_in, fan_out]: signal along each edge
        flow = flow * alive[l].unsqueeze(-1) * alive[l + 1].unsqueeze(0)
        strongest = flow.max(0).values  # per target
        keep = (flow >= edge_threshold * strongest.unsqueeze(0)) & (flow > 0)
        for j, n in keep.nonzero().tolist():
            g.add_edge(layers[l][j], layers[l + 1][n])
    labels = {s: np.full(acts[s].width, -1, dtype=int) for s in hidden}
    modules = []
    comps = sorted(nx.connected_components(g), key=lambda c: (-len(c), sorted(map(str, c))))
    for comp in comps:
        ins = sorted(i for kind, i in comp if kind == "input")
        outs = sorted(o for kind, o in comp if kind == "output")
        neurons = {s: np.array(sorted(j for kind, j in comp if kind == s), dtype=int) for s in hidden}
        neurons = {s: v for s, v in neurons.items() if v.size}
        if not ins or not outs or not neurons:
            continue
        for s, v in neurons.items():
            labels[s][v] = len(modules)
        modules.append({"neurons": neurons, "inputs": ins, "outputs": outs})
    return Clusters("graph", labels, modules, {"edge_threshold": edge_threshold,
                                               "n_components": nx.number_connected_components(g)})
