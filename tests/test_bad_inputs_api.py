"""Every bad input to the library gets a clear answer: a ValueError naming the argument (and
its value where that helps), raised before any heavy work; sizes too large for memory are
refused with the estimate; NaN/inf never pass silently; failed ensemble members are marked
as failed in every analysis, never counted as 0 live neurons; and the analyses' memory is
flat in the number of samples."""
from __future__ import annotations

import math
import tempfile

import numpy as np
import pytest
import torch

import interp
import models
import probes
from interp.theory.multilinear import Multilinear
from models.tasks import Batch, Function, Parallel, Series, SparseParity, Square, Task
from settings import ONE_STEP

NAN, INF = float("nan"), float("inf")
NET = models.MLP(models.MLPConfig(d_in=1, widths=(6,), d_out=1))
NET4 = models.MLP(models.MLPConfig(d_in=4, widths=(6,), d_out=1))
ENS = models.Ensemble(models.MLPConfig(d_in=1, widths=(6,), d_out=1), seeds=(0, 1))
PT = models.ParityTransformer(models.ParityTransformerConfig(n_ctx=8, d_model=8, n_heads=2))
SQ = Square()
X = torch.linspace(-1, 1, 50).unsqueeze(1)


def _gen():
    return torch.Generator().manual_seed(0)


def _mlp(**kw):
    return models.MLPConfig(**{"d_in": 1, "widths": (4,), "d_out": 1, **kw})


def _with_nan_weight(layer: int):
    net = models.MLP(models.MLPConfig(d_in=1, widths=(6,), d_out=1))
    with torch.no_grad():
        net.layers[layer].weight[0, 0] = NAN
    return net


def _nan_batch(where: str) -> Batch:
    b = SQ.sample(40, _gen())
    x, y = b.x.clone(), b.y.clone()
    (x if where == "x" else y)[7] = NAN
    return Batch(x, y, b.subtask)


def _alloc():
    return interp.allocate(NET, SQ, method="ablation", n_samples=64, progress=False)


# id -> (call, pattern its ValueError message must match)
CASES = {
    # -- tasks -------------------------------------------------------------------------
    "Square low a string": (lambda: Square(low="a"), r"low='a' is not allowed"),
    "Square low NaN": (lambda: Square(low=NAN), r"low=nan is not allowed"),
    "Square high inf": (lambda: Square(high=INF), r"high=inf is not allowed"),
    "Square low a bool": (lambda: Square(low=True, high=2), r"low=True is not allowed"),
    "Square low = high": (lambda: Square(low=1, high=1), r"high=1 is not allowed: expected a number above low=1"),
    "Square low None": (lambda: Square(low=None), r"low=None is not allowed"),
    "Parallel beta a string": (lambda: Parallel(beta="0.5"), r"beta='0.5' is not allowed"),
    "Parallel beta NaN": (lambda: Parallel(beta=NAN), r"beta=nan is not allowed"),
    "Parallel beta a bool": (lambda: Parallel(beta=True), r"beta=True is not allowed"),
    "Parallel beta above 1": (lambda: Parallel(beta=1.5), r"beta=1.5 is not allowed: expected a finite number in \[0"),
    "Series high below low": (lambda: Series(high=-2), r"high=-2 is not allowed"),
    "Function unknown name": (lambda: Function(name="x^4"), r"name='x\^4' is not allowed: expected one of"),
    "Function name a list": (lambda: Function(name=["sin"]), r"name=\['sin'\] is not allowed"),
    "SparseParity scale inf": (lambda: SparseParity(scale=INF), r"scale=inf is not allowed"),
    "SparseParity scale a string": (lambda: SparseParity(scale="1"), r"scale='1' is not allowed"),
    "SparseParity scale 0": (lambda: SparseParity(scale=0), r"scale=0 is not allowed"),
    "SparseParity alpha a string": (lambda: SparseParity(alpha="0.6"), r"alpha='0.6' is not allowed"),
    "SparseParity alpha a bool": (lambda: SparseParity(alpha=True), r"alpha=True is not allowed"),
    "SparseParity alpha negative": (lambda: SparseParity(alpha=-0.5), r"alpha=-0.5 is not allowed"),
    "SparseParity n_skills a bool": (lambda: SparseParity(n_skills=True), r"n_skills=True is not allowed"),
    "SparseParity n_skills a float": (lambda: SparseParity(n_skills=2.0), r"n_skills=2.0 is not allowed"),
    "SparseParity n_bits 0": (lambda: SparseParity(n_bits=0), r"n_bits=0 is not allowed"),
    "SparseParity bits beyond n_bits": (lambda: SparseParity(bits_per_skill=40), r"bits_per_skill=40 is not allowed"),
    "SparseParity disjoint a string": (lambda: SparseParity(disjoint="no"), r"disjoint='no' is not allowed"),
    "SparseParity random_positions 1": (lambda: SparseParity(random_positions=1), r"random_positions=1 is not"),
    "SparseParity bits_seed -1": (lambda: SparseParity(bits_seed=-1), r"bits_seed=-1 is not allowed"),
    "SparseParity bits_seed 1.5": (lambda: SparseParity(bits_seed=1.5), r"bits_seed=1.5 is not allowed"),
    "SparseParity loss_type MSE": (lambda: SparseParity(loss_type="MSE"), r"loss_type='MSE' is not allowed"),
    "SparseParity more skills than bit sets": (lambda: SparseParity(n_skills=10**4, n_bits=10, disjoint=False),
                                               r"n_skills=10000 is not allowed: expected at most C\(n_bits"),
    "SparseParity 1e9 skills (memory)": (lambda: SparseParity(n_skills=10**9),
                                         r"n_skills=1000000000 is not allowed: expected at most 8 GiB; it asks for "
                                         r"[\d.]+ GiB"),
    "SparseParity 2e9 bits (memory)": (lambda: SparseParity(n_skills=1, n_bits=2 * 10**9),
                                       r"n_bits=2000000000 is not allowed: .* GiB"),
    "sample n 0": (lambda: SQ.sample(0, _gen()), r"n=0 is not allowed"),
    "sample n a float": (lambda: Parallel().sample(2.5, _gen()), r"n=2.5 is not allowed"),
    "sample 1e12 (memory)": (lambda: SQ.sample(10**12, _gen()), r"n=1000000000000 is not allowed: .* GiB"),
    "sample_steps 0 steps": (lambda: SQ.sample_steps(4, 0, _gen()), r"steps=0 is not allowed"),
    "eval_pieces batch 0": (lambda: list(SQ.eval_pieces(10, 0, _gen())), r"batch_size=0 is not allowed"),
    # -- Task.from_config ------------------------------------------------------------------
    "from_config unknown key": (lambda: Task.from_config({"type": "Square", "lowe": 0}),
                                r"key='lowe' is not allowed: expected a field of Square: one of \['low', 'high'\]"),
    "from_config two unknown keys": (lambda: Task.from_config({"type": "Parallel", "gamma": 1, "delta": 2}),
                                     r"key=\['delta', 'gamma'\] is not allowed"),
    "from_config no type": (lambda: Task.from_config({"low": 0}), r"task config=.* expected a 'type' key"),
    "from_config unknown type": (lambda: Task.from_config({"type": "Nope"}),
                                 r"type='Nope' is not allowed: expected one of \[.*'Function'.*'TokenTask'"
                                 r".*register_task"),
    "from_config type None": (lambda: Task.from_config({"type": None}), r"type=None is not allowed"),
    "from_config not a dict": (lambda: Task.from_config([1, 2]), r"task config=\[1, 2\] is not allowed"),
    "from_config bad value": (lambda: Task.from_config({"type": "Parallel", "beta": "x"}), r"beta='x' is not allowed"),
    # -- MLPConfig, MLP, Ensemble ---------------------------------------------------------------
    "MLP width 1e12 (memory)": (lambda: _mlp(widths=(10**12,)),
                                r"widths=\(1000000000000,\) is not allowed: expected at most 8 GiB; it asks for "
                                r"[\d.e+]+ GiB \(3e\+12 parameters of float32\)"),
    "MLP widths an int": (lambda: _mlp(widths=4), r"widths=4 is not allowed"),
    "MLP widths empty": (lambda: _mlp(widths=()), r"widths=\(\) is not allowed"),
    "MLP width 0": (lambda: _mlp(widths=(4, 0)), r"widths=\(4, 0\) is not allowed"),
    "MLP width a float": (lambda: _mlp(widths=(4.0,)), r"widths=\(4.0,\) is not allowed"),
    "MLP width a bool": (lambda: _mlp(widths=(True,)), r"widths=\(True,\) is not allowed"),
    "MLP d_in a bool": (lambda: _mlp(d_in=True), r"d_in=True is not allowed"),
    "MLP d_out 0": (lambda: _mlp(d_out=0), r"d_out=0 is not allowed"),
    "MLP activation unknown": (lambda: _mlp(activation="RELU"), r"activation='RELU' is not allowed: expected one of"),
    "MLP activation a list": (lambda: _mlp(activation=["relu"]), r"activation=\['relu'\] is not allowed"),
    "MLP seed -1": (lambda: _mlp(seed=-1), r"seed=-1 is not allowed: expected an integer seed"),
    "MLP seed 1.5": (lambda: _mlp(seed=1.5), r"seed=1.5 is not allowed"),
    "MLP seed a string": (lambda: _mlp(seed="abc"), r"seed='abc' is not allowed"),
    "MLP seed a bool": (lambda: _mlp(seed=True), r"seed=True is not allowed"),
    "MLP seed 2**64": (lambda: _mlp(seed=2**64), r"seed=18446744073709551616 is not allowed"),
    "MLP init unknown": (lambda: _mlp(init="xavier"), r"init='xavier' is not allowed"),
    "MLP init_std inf": (lambda: _mlp(init_std=INF), r"init_std=inf is not allowed"),
    "MLP config a dict": (lambda: models.MLP({"d_in": 1}), r"config='dict' is not allowed: expected an MLPConfig"),
    "Ensemble seed -1": (lambda: models.Ensemble(_mlp(), seeds=(0, -1)), r"seeds\[1\]=-1 is not allowed"),
    "Ensemble seed a bool": (lambda: models.Ensemble(_mlp(), seeds=(True,)), r"seeds\[0\]=True is not allowed"),
    "Ensemble seeds a string": (lambda: models.Ensemble(_mlp(), seeds="ab"), r"seeds='ab' is not allowed"),
    "Ensemble no seeds": (lambda: models.Ensemble(_mlp(), seeds=()), r"seeds='0 seeds' is not allowed"),
    "Ensemble a million members": (lambda: models.Ensemble(_mlp(), seeds=range(10**6)),
                                   r"seeds='1000000 seeds' is not allowed: expected .* at most 65536"),
    "Ensemble too large (memory)": (lambda: models.Ensemble(_mlp(widths=(10**6,)), seeds=range(3000)),
                                    r"seeds='3000 members' is not allowed: expected at most 8 GiB; "
                                    r"it asks for 33.5 GiB"),
    "Ensemble config a dict": (lambda: models.Ensemble({"d_in": 1}, seeds=(0,)), r"config='dict' is not allowed"),
    "Ensemble member out of range": (lambda: ENS.member(9), r"i=9 is not allowed"),
    "Ensemble.stack of mixed shapes": (lambda: models.Ensemble.stack([NET, NET4]), r"nets=.* is not allowed"),
    # -- ParityTransformerConfig ------------------------------------------------------------------
    "Transformer n_ctx 0": (lambda: models.ParityTransformerConfig(n_ctx=0), r"n_ctx=0 is not allowed"),
    "Transformer seed -1": (lambda: models.ParityTransformerConfig(n_ctx=8, d_model=8, seed=-1), r"seed=-1 is not"),
    "Transformer causal a string": (lambda: models.ParityTransformerConfig(n_ctx=8, d_model=8, causal="yes"),
                                    r"causal='yes' is not allowed: expected True or False"),
    "Transformer readout unknown": (lambda: models.ParityTransformerConfig(n_ctx=8, d_model=8, readout="sum"),
                                    r"readout='sum' is not allowed"),
    "Transformer heads not dividing": (lambda: models.ParityTransformerConfig(n_ctx=8, d_model=8, n_heads=3),
                                       r"n_heads=3 is not allowed: expected a divisor of d_model=8"),
    "Transformer d_model 2**20 (memory)": (lambda: models.ParityTransformerConfig(n_ctx=8, d_model=2**20, n_heads=1),
                                           r"d_model=1048576 is not allowed: expected at most 8 GiB; .* parameters"),
    "Transformer init_std NaN": (lambda: models.ParityTransformerConfig(n_ctx=8, init_std=NAN), r"init_std=nan is not"),
    # -- TrainConfig ---------------------------------------------------------------------
    "TrainConfig lr a string": (lambda: models.TrainConfig(lr="0.1"), r"lr='0.1' is not allowed"),
    "TrainConfig lr NaN": (lambda: models.TrainConfig(lr=NAN), r"lr=nan is not allowed"),
    "TrainConfig lr a bool": (lambda: models.TrainConfig(lr=True), r"lr=True is not allowed"),
    "TrainConfig alpha a bool": (lambda: models.TrainConfig(alpha=True), r"alpha=True is not allowed"),
    "TrainConfig alpha empty": (lambda: models.TrainConfig(alpha=()), r"alpha=\(\) is not allowed"),
    "TrainConfig alpha with NaN": (lambda: models.TrainConfig(alpha=(1.0, NAN)), r"alpha=\(1.0, nan\) is not allowed"),
    "TrainConfig alpha a string": (lambda: models.TrainConfig(alpha="1"), r"alpha='1' is not allowed"),
    "TrainConfig steps 1.5": (lambda: models.TrainConfig(steps=1.5), r"steps=1.5 is not allowed"),
    "TrainConfig steps a bool": (lambda: models.TrainConfig(steps=True), r"steps=True is not allowed"),
    "TrainConfig batch_size a bool": (lambda: models.TrainConfig(batch_size=True), r"batch_size=True is not"),
    "TrainConfig l1 inf": (lambda: models.TrainConfig(l1=INF), r"l1=inf is not allowed"),
    "TrainConfig l2 a bool": (lambda: models.TrainConfig(l2=True), r"l2=True is not allowed"),
    "TrainConfig weight_decay -1": (lambda: models.TrainConfig(weight_decay=-1), r"weight_decay=-1 is not allowed"),
    "TrainConfig momentum 2": (lambda: models.TrainConfig(momentum=2.0), r"momentum=2.0 is not allowed: .*\[0, 1\)"),
    "TrainConfig optimizer None": (lambda: models.TrainConfig(optimizer=None), r"optimizer=None is not allowed"),
    "TrainConfig optimizer ADAM": (lambda: models.TrainConfig(optimizer="ADAM"), r"optimizer='ADAM' is not allowed"),
    "TrainConfig seed -1": (lambda: models.TrainConfig(seed=-1), r"seed=-1 is not allowed"),
    "TrainConfig seed 1.5": (lambda: models.TrainConfig(seed=1.5), r"seed=1.5 is not allowed"),
    "TrainConfig seed a string": (lambda: models.TrainConfig(seed="abc"), r"seed='abc' is not allowed"),
    "TrainConfig seed a bool": (lambda: models.TrainConfig(seed=True), r"seed=True is not allowed"),
    "TrainConfig lr_decay a string": (lambda: models.TrainConfig(lr_decay="x"), r"lr_decay='x' is not allowed"),
    "TrainConfig lr_decay_every 0": (lambda: models.TrainConfig(lr_decay_every=0), r"lr_decay_every=0 is not"),
    "TrainConfig shared_data a string": (lambda: models.TrainConfig(shared_data="yes"), r"shared_data='yes' is not"),
    "TrainConfig progress 2": (lambda: models.TrainConfig(progress=2), r"progress=2 is not allowed"),
    "TrainConfig eval_points 1e9": (lambda: models.TrainConfig(eval_points=10**9), r"eval_points=1000000000 is not"),
    "TrainConfig checkpoint_every a bool": (lambda: models.TrainConfig(checkpoint_every=True),
                                            r"checkpoint_every=True is not allowed"),
    "TrainConfig compile a bool": (lambda: models.TrainConfig(compile=True), r"compile=True is not allowed"),
    # -- train() -------------------------------------------------------------------------
    "train model a string": (lambda: models.train("net", SQ, models.TrainConfig(**ONE_STEP)), r"model='str' is not"),
    "train task a string": (lambda: models.train(NET, "Square", models.TrainConfig(**ONE_STEP)), r"task='Square' is not"),
    "train config a dict": (lambda: models.train(NET, SQ, {"steps": 1}), r"config='dict' is not allowed"),
    "train checkpoint an int": (lambda: models.train(NET, SQ, models.TrainConfig(**ONE_STEP), checkpoint=3),
                                r"checkpoint=3 is not allowed"),
    "train task of another shape": (lambda: models.train(NET, Parallel(), models.TrainConfig(**ONE_STEP)),
                                    r"task=Parallel.* does not fit"),
    "train alpha per member mismatch": (lambda: models.train(ENS, SQ, models.TrainConfig(**{**ONE_STEP,
                                                                                         "alpha": (1.0, 2.0, 3.0)})),
                                        r"alpha=\(1.0, 2.0, 3.0\) is not allowed"),
    "train data set 1e10 (memory)": (lambda: models.train(NET, SQ, models.TrainConfig(**{**ONE_STEP,
                                                                                      "dataset_size": 10**10})),
                                     r"dataset_size=10000000000 is not allowed: expected at most 8 GiB; .* GiB"),
    "train batch 1e10 (memory)": (lambda: models.train(NET, SQ, models.TrainConfig(**{**ONE_STEP, "batch_size": 10**10})),
                                  r"batch_size=10000000000 is not allowed: .* GiB"),
    "train eval_size 1e10 (memory)": (lambda: models.train(NET, SQ, models.TrainConfig(**{**ONE_STEP,
                                                                                       "eval_size": 10**10})),
                                      r"eval_size=10000000000 is not allowed: .* GiB"),
    "train compile on for a transformer": (lambda: models.train(PT, SparseParity(2, 6, 3),
                                                                models.TrainConfig(**{**ONE_STEP, "compile": "on"})),
                                           r"compile='on' is not allowed"),
    # -- live_neurons / redundancy / capture --------------------------------------------------------
    "live threshold NaN": (lambda: interp.live_neurons(NET, X, threshold=NAN), r"threshold=nan is not allowed"),
    "live threshold a string": (lambda: interp.live_neurons(NET, X, threshold="0.1"), r"threshold='0.1' is not"),
    "live threshold negative": (lambda: interp.live_neurons(NET, X, threshold=-1), r"threshold=-1 is not allowed"),
    "live rule unknown": (lambda: interp.live_neurons(NET, X, rule="x"), r"live_rule='x' is not allowed"),
    "live site unknown": (lambda: interp.live_neurons(NET, X, sites="nope"), r"sites='nope' is not allowed"),
    "live inputs a string": (lambda: interp.live_neurons(NET, "abc"), r"inputs='str' is not allowed"),
    "live inputs empty": (lambda: interp.live_neurons(NET, torch.zeros(0, 1)), r"inputs='tensor of shape \(0, 1\)'"),
    "live inputs of another width": (lambda: interp.live_neurons(NET, torch.zeros(5, 3)),
                                     r"inputs='a piece of shape \(5, 3\)' is not allowed: expected inputs the model"),
    "live batch_size 0": (lambda: interp.live_neurons(NET, X, batch_size=0), r"batch_size=0 is not allowed"),
    "live seed -1": (lambda: interp.live_neurons(NET, SQ, seed=-1), r"seed=-1 is not allowed"),
    "live n_samples 0": (lambda: interp.live_neurons(NET, SQ, n_samples=0), r"n_samples=0 is not allowed"),
    "live n_samples 1e12 (memory)": (lambda: interp.live_neurons(NET, SQ, n_samples=10**12),
                                     r"n_samples=1000000000000 is not allowed: expected at most 2.15e\+09 samples; "
                                     r".* [\d.e+]+ GiB"),
    "live pieces of 1e6 samples of wide members (memory)": (
        lambda: interp.live_neurons(models.Ensemble(_mlp(widths=(10**4,)), seeds=range(30)), torch.zeros(10**6, 1),
                                    batch_size=10**6),
        r"batch_size=1000000 is not allowed: expected at most 8 GiB; it asks for [\d.e+]+ GiB"),
    "live task of another shape": (lambda: interp.live_neurons(NET, Parallel()), r"task=Parallel.* is not allowed"),
    "live NaN inputs": (lambda: interp.live_neurons(NET, torch.full((100, 1), NAN)),
                        r"inputs='100 NaN/inf of 100 values \(samples 0 to 99\)' is not allowed"),
    "live inf inputs": (lambda: interp.live_neurons(NET, torch.full((10, 1), INF)), r"inputs='10 NaN/inf of 10"),
    "live NaN activations": (lambda: interp.live_neurons(_with_nan_weight(0), SQ),
                             r"activations='NaN/inf at site hidden.0' is not allowed"),
    "redundancy threshold 2": (lambda: interp.redundancy(NET, X, threshold=2), r"threshold=2 is not allowed"),
    "redundancy live_threshold NaN": (lambda: interp.redundancy(NET, X, live_threshold=NAN), r"live_threshold=nan"),
    "redundancy NaN inputs": (lambda: interp.redundancy(NET, torch.full((9, 1), NAN)), r"inputs='9 NaN/inf"),
    "capture unknown stat": (lambda: probes.capture(NET, X, stats=("nope",)), r"stats='nope' is not allowed"),
    "capture NaN targets": (lambda: probes.capture(NET, X, stats=("cross",), targets=torch.full((50,), NAN)),
                            r"targets='50 NaN/inf of 50 values"),
    # -- allocate and its result -----------------------------------------------------------
    "allocate method unknown": (lambda: interp.allocate(NET, SQ, method="x"),
                                r"method='x' is not allowed: expected one of \['auto', 'ablation'"),
    "allocate method None": (lambda: interp.allocate(NET, SQ, method=None), r"method=None is not allowed"),
    "allocate method a list": (lambda: interp.allocate(NET, SQ, method=["ablation"]), r"method=\['ablation'\] is not"),
    "allocate threshold NaN": (lambda: interp.allocate(NET, SQ, threshold=NAN), r"threshold=nan is not allowed"),
    "allocate threshold a bool": (lambda: interp.allocate(NET, SQ, threshold=True), r"threshold=True is not allowed"),
    "allocate dominance 2": (lambda: interp.allocate(NET, SQ, dominance=2), r"dominance=2 is not allowed"),
    "allocate live_threshold -1": (lambda: interp.allocate(NET, SQ, live_threshold=-1), r"live_threshold=-1 is not"),
    "allocate n_samples 1e12 (memory)": (lambda: interp.allocate(NET, SQ, n_samples=10**12),
                                         r"n_samples=1000000000000 is not allowed: .* GiB"),
    "allocate n_samples 1.5": (lambda: interp.allocate(NET, SQ, n_samples=1.5), r"n_samples=1.5 is not allowed"),
    "allocate seed a string": (lambda: interp.allocate(NET, SQ, seed="a"), r"seed='a' is not allowed"),
    "allocate task of another shape": (lambda: interp.allocate(NET, Parallel()), r"task=Parallel.* is not allowed"),
    "allocate task a string": (lambda: interp.allocate(NET, "Square"), r"task='Square' is not allowed"),
    "allocate options a list": (lambda: interp.allocate(NET, SQ, options=[1]), r"options=\[1\] is not allowed"),
    "allocate option no method reads": (lambda: interp.allocate(NET, SQ, method="ablation", options={"candidatez": 1}),
                                        r"options='candidatez' is not allowed: expected .*method='ablation'"),
    "allocate option share 2": (lambda: interp.allocate(NET, SQ, method="verified", options={"candidates": 2}),
                                r"options\['candidates'\]=2 is not allowed: expected a share in \(0, 1\]"),
    "allocate option sample a string": (lambda: interp.allocate(NET, SQ, method="verified", options={"sample": "x"}),
                                        r"options\['sample'\]='x' is not allowed"),
    "allocate option attribution kind": (lambda: interp.allocate(NET, SQ, method="attribution",
                                                                 options={"attribution": "x"}),
                                         r"options\['attribution'\]='x' is not allowed"),
    "allocate probe without intermediates": (lambda: interp.allocate(NET, SQ, method="probe"),
                                             r"method='probe' is not allowed"),
    "allocate weights on a transformer": (lambda: interp.allocate(PT, SparseParity(2, 6, 3), method="weights",
                                                                  progress=False),
                                          r"method='weights' is not allowed"),
    "allocate live_rule unknown": (lambda: interp.allocate(NET, SQ, live_rule="x"), r"live_rule='x' is not allowed"),
    "allocate NaN inputs": (lambda: interp.allocate(NET, SQ, inputs=_nan_batch("x")),
                            r"inputs='1 NaN/inf of 40 values \(samples 0 to 39\)'"),
    "allocate NaN targets": (lambda: interp.allocate(NET, SQ, inputs=_nan_batch("y")), r"targets='1 NaN/inf of 40"),
    "allocate inputs a string": (lambda: interp.allocate(NET, SQ, inputs="x"), r"inputs='str' is not allowed"),
    "allocate max_elements 0": (lambda: interp.allocate(NET, SQ, max_elements=0), r"max_elements=0 is not allowed"),
    "allocate batch_size 0": (lambda: interp.allocate(NET, SQ, batch_size=0), r"batch_size=0 is not allowed"),
    "allocate batch_tokens 0": (lambda: interp.allocate(NET, SQ, batch_tokens=0), r"batch_tokens=0 is not allowed"),
    "allocate progress a string": (lambda: interp.allocate(NET, SQ, progress="yes"), r"progress='yes' is not allowed"),
    "allocate NaN activations": (lambda: interp.allocate(_with_nan_weight(0), SQ, progress=False),
                                 r"activations='NaN/inf at site hidden.0' is not allowed"),
    "allocate NaN outputs": (lambda: interp.allocate(_with_nan_weight(1), SQ, method="ablation", progress=False),
                             r"losses=.*NaN/inf subtask losses"),
    "rethreshold threshold NaN": (lambda: _alloc().rethreshold(threshold=NAN), r"threshold=nan is not allowed"),
    "rethreshold dominance a string": (lambda: _alloc().rethreshold(dominance="x"), r"dominance='x' is not allowed"),
    "allocation member out of range": (lambda: _alloc()[5], r"member=5 is not allowed"),
    "allocation site unknown": (lambda: _alloc().assigned("nope"), r"site='nope' is not allowed"),
    "allocation ratio of an unknown subtask": (lambda: _alloc().ratio("nope", "x^2"), r"subtask='nope' is not allowed"),
    "register scorer named auto": (lambda: interp.register_scorer("auto", 0.1, "x"), r"name='auto' is not allowed"),
    "register scorer threshold NaN": (lambda: interp.register_scorer("z", NAN, "x"), r"default_threshold=nan is not"),
    "register scorer options an int": (lambda: interp.register_scorer("z", 0.1, "x", options=5), r"options=5 is not"),
    "scorer unknown": (lambda: interp.scorers.scorer("nope"), r"method='nope' is not allowed"),
    # -- fits and scaling ----------------------------------------------------------------------
    "fit NaN x": (lambda: interp.fit_power_law([1, 2, NAN, 4], [1, 2, 3, 4]), r"x='\[1.0, 2.0, nan, 4.0\]' is not"),
    "fit empty": (lambda: interp.fit_power_law([], []), r"x='\[\]' is not allowed"),
    "fit mismatched lengths": (lambda: interp.fit_power_law([1, 2, 3, 4], [1, 2, 3]), r"y='shape \(3,\)' is not"),
    "fit strings": (lambda: interp.fit_power_law(["a", "b", "c"], [1, 2, 3]), r"x=\['a', 'b', 'c'\] is not allowed"),
    "fit level 1": (lambda: interp.fit_power_law([1, 2, 3, 4], [4, 3, 2, 1], level=1.0), r"level=1.0 is not allowed"),
    "fit n_boot a bool": (lambda: interp.fit_power_law([1, 2, 3, 4], [4, 3, 2, 1], n_boot=True), r"n_boot=True is"),
    "growth NaN counts": (lambda: interp.homogeneous_growth([[1, 2], [2, NAN], [3, 4]]), r"counts='.*nan.*' is not"),
    "allocation negative scale": (lambda: interp.optimal_allocation([1, -1], 10), r"a='\[1.0, -1.0\]' is not allowed"),
    "allocation total NaN": (lambda: interp.optimal_allocation([1, 2], NAN), r"total=nan is not allowed"),
    "composite loss exponent NaN": (lambda: interp.composite_loss([1, 2], 10, exponent=NAN), r"exponent='.*nan"),
    "exponent from ratio 1": (lambda: interp.exponent_from_ratio([1, 2], 1.0), r"ratio=1.0 is not allowed"),
    "chinchilla depth unknown": (lambda: interp.chinchilla_conversion(depth="x"), r"depth='x' is not allowed"),
    # -- ensembling ----------------------------------------------------------------------------
    "ensembling NaN outputs": (lambda: interp.ensembling_from_outputs(np.array([[1., NAN, 3.], [1, 2, 3]]),
                                                                      np.array([1., 2, 3])),
                               r"outputs='1 NaN/inf values' is not allowed"),
    "ensembling NaN target": (lambda: interp.ensembling_from_outputs(np.ones((2, 3)), np.array([1., NAN, 3])),
                              r"target='1 NaN/inf values' is not allowed"),
    "ensembling mismatched shapes": (lambda: interp.ensembling_from_outputs(np.ones((2, 4)), np.ones(3)),
                                     r"outputs=\(2, 4\) is not allowed"),
    "ensembling errors unknown": (lambda: interp.ensembling_from_outputs(np.random.rand(2, 5), np.random.rand(5),
                                                                         errors="x"), r"errors='x' is not allowed"),
    "pairing NaN weights": (lambda: interp.pair_symmetric(torch.tensor([[1.], [NAN]]), torch.zeros(2)),
                            r"w='1 NaN/inf of 2 values' is not allowed"),
    "pairing mismatched biases": (lambda: interp.pair_symmetric(torch.ones(2, 1), torch.zeros(3)),
                                  r"b=torch.Size\(\[3\]\) is not allowed"),
    "ensembling test n_points 2": (lambda: interp.ensembling_test(NET, SQ, n_points=2), r"n_points=2 is not allowed"),
    "ensembling test output 5": (lambda: interp.ensembling_test(NET, SQ, output=5), r"output=5 is not allowed"),
    "ensembling test output a string": (lambda: interp.ensembling_test(NET, SQ, output="0"), r"output='0' is not"),
    "ensembling test member out of range": (lambda: interp.ensembling_test(ENS, SQ, member=5), r"i=5 is not allowed"),
    "ensembling test 1e12 points (memory)": (lambda: interp.ensembling_test(NET, SQ, n_points=10**12),
                                             r"n_points=1000000000000 is not allowed: .* GiB"),
    "ensembling test max_distance -1": (lambda: interp.ensembling_test(NET, SQ, max_distance=-1),
                                        r"max_distance=-1 is not allowed"),
    # -- the multilinear model and calibration ------------------------------------------------------
    "multilinear alpha NaN": (lambda: Multilinear(alpha=NAN), r"alpha=nan is not allowed"),
    "multilinear alpha a string": (lambda: Multilinear(alpha="1"), r"alpha='1' is not allowed"),
    "multilinear n_skills 0": (lambda: Multilinear(alpha=0.5, n_skills=0), r"n_skills=0 is not allowed"),
    "multilinear lr 0": (lambda: Multilinear(alpha=0.5, lr=0), r"lr=0 is not allowed"),
    "multilinear NaN time": (lambda: Multilinear(alpha=0.5, n_skills=100).strength([1., NAN]), r"T='\[1.0, nan\]'"),
    "multilinear threshold 2": (lambda: Multilinear(alpha=0.5, n_skills=100).emergence_time([1], threshold=2),
                                r"threshold=2 is not allowed"),
    "multilinear law unknown": (lambda: Multilinear(alpha=0.5, n_skills=100).law("x"), r"resource='x' is not"),
    "multilinear NaN data size": (lambda: Multilinear(alpha=0.5, n_skills=100).loss_data([NAN]), r"D='\[nan\]'"),
    "multilinear skill 0": (lambda: Multilinear(alpha=0.5, n_skills=100).strength([1.0], skills=[0]),
                            r"skills='\[0\]' is not allowed"),
    "skill frequencies 1e12 skills": (lambda: interp.skill_frequencies(10**12, 0.5), r"n_skills=1000000000000 is not"),
    "calibrate resource unknown": (lambda: interp.calibrate("x", [1, 2, 3], np.ones((3, 1)), frequencies=[1.0]),
                                   r"resource='x' is not allowed"),
    "emergence step NaN strength": (lambda: interp.emergence_step([1, 2, 3], np.array([[0.1], [NAN], [0.9]])),
                                    r"strength='\[\[0.1\], \[nan\], \[0.9\]\]' is not allowed"),
    "emergence times one threshold": (lambda: interp.emergence_times([1, 2, 3], np.ones((3, 1)), thresholds=(0.5,)),
                                      r"thresholds=\(0.5,\) is not allowed"),
    # -- probes, clustering, sweeps ---------------------------------------------------------------
    "correlations NaN target": (lambda: interp.correlations(NET, X, torch.full((50,), NAN)), r"targets='50 NaN/inf"),
    "correlations target of another length": (lambda: interp.correlations(NET, X, torch.ones(7)),
                                              r"target=\(7,\) is not allowed"),
    "linear probe site unknown": (lambda: interp.linear_probe(NET, X, torch.ones(50), "nope"), r"sites='nope' is"),
    "linear probe alpha -1": (lambda: interp.linear_probe(NET, X, torch.ones(50), "hidden.0", alpha=-1),
                              r"alpha=-1 is not allowed"),
    "linear probe NaN target": (lambda: interp.linear_probe(NET, X, torch.full((50,), NAN), "hidden.0"),
                                r"target='50 NaN/inf of 50 values' is not allowed"),
    "linear probe test_fraction 1": (lambda: interp.linear_probe(NET, X, torch.ones(50), "hidden.0", test_fraction=1),
                                     r"test_fraction=1 is not allowed"),
    "probe intermediate unknown": (lambda: interp.probe_intermediate(NET4, Series(), "zz"), r"name='zz' is not"),
    "skill strengths of a task without skills": (lambda: interp.skill_strengths(NET, SQ), r"task=Square.* is not"),
    "cluster method unknown": (lambda: interp.cluster_neurons(NET, SQ, method="x"), r"method='x' is not allowed"),
    "cluster edge_threshold NaN": (lambda: interp.cluster_neurons(NET, SQ, edge_threshold=NAN), r"edge_threshold=nan"),
    "cluster n_clusters 0": (lambda: interp.cluster_neurons(NET, SQ, method="coactivation", n_clusters=0),
                             r"n_clusters=0 is not allowed"),
    "cluster an ensemble": (lambda: interp.cluster_neurons(ENS, SQ), r"model='Ensemble' is not allowed"),
    "sweep no alphas": (lambda: interp.sweep_alpha(SQ, _mlp(), alphas=[], seeds=(0,),
                                                   train=models.TrainConfig(**ONE_STEP)), r"alphas=\[\] is not allowed"),
    "sweep seed -1": (lambda: interp.sweep_alpha(SQ, _mlp(), alphas=[1.0], seeds=(-1,),
                                                 train=models.TrainConfig(**ONE_STEP)), r"seeds\[0\]=-1 is not allowed"),
    "sweep threshold NaN": (lambda: interp.sweep_alpha(SQ, _mlp(), alphas=[1.0], seeds=(0,),
                                                       train=models.TrainConfig(**ONE_STEP), threshold=NAN),
                            r"threshold=nan is not allowed"),
    # seeds handed on to numpy, files where folders belong, inputs of the wrong shape, order
    "fit_power_law seed -1": (lambda: interp.fit_power_law([1.0, 2, 4, 8], [1.0, 0.5, 0.26, 0.12], seed=-1),
                              r"seed=-1 is not allowed: expected an integer seed"),
    "calibrate seed a float": (lambda: interp.theory.calibration.calibrate("time", [0, 10, 20, 40], [0, 0.1, 0.6, 0.9],
                                                                    frequencies=[0.6, 0.4], c=1e3, seed=0.5),
                               r"seed=0.5 is not allowed: expected an integer seed"),
    "emergence_step x not increasing": (lambda: interp.theory.calibration.emergence_step([0, 20, 10], [0.0, 0.1, 0.2]),
                                        r"x=.* is not allowed: expected strictly increasing numbers"),
    "save into a file": (lambda: models.save(NET, _a_file()),
                         r"folder='.*' is not allowed: expected a folder \(this is a file\)"),
    "save under a file": (lambda: models.save(NET, _a_file() + "/sub"),
                          r"folder='.*/sub' is not allowed: expected a folder that can be made \(.* is a file\)"),
    "train checkpoint a file": (lambda: models.train(models.MLP(_mlp()), SQ, models.TrainConfig(**ONE_STEP),
                                                     checkpoint=_a_file()),
                                r"checkpoint='.*' is not allowed: expected a folder \(this is a file\)"),
    "allocate inputs of the wrong width": (lambda: interp.allocate(NET, SQ, inputs=Batch(
                                               torch.zeros(4, 3), torch.zeros(4, 1), torch.zeros(4, dtype=torch.long))),
                                           r"inputs.x='torch.float32 tensor of shape \(4, 3\)' is not allowed: "
                                           r"expected a tensor \[4, 1\]"),
    "allocate input tensor of the wrong width": (lambda: interp.allocate(NET, SQ, inputs=torch.zeros(5, 3)),
                                                 r"inputs.x='torch.float32 tensor of shape \(5, 3\)' is not allowed"),
    "Allocation.from_json a folder": (lambda: interp.Allocation.from_json(tempfile.mkdtemp()),
                                      r"text_or_path='.*' is not allowed: expected a readable JSON file "
                                      r".*IsADirectory"),
    "allocate inputs with float subtasks": (lambda: interp.allocate(NET, SQ, inputs=Batch(torch.zeros(4, 1),
                                                                                         torch.zeros(4, 1),
                                                                                         torch.zeros(4))),
                                            r"inputs.subtask='torch.float32 tensor"),
}


def _a_file() -> str:
    path = tempfile.mkdtemp() + "/a-file"
    with open(path, "w") as f:
        f.write("not a folder")
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_input_is_refused_naming_it(case):
    call, pattern = CASES[case]
    with pytest.raises(ValueError, match=pattern):
        call()


def test_there_are_at_least_70_distinct_bad_inputs():
    assert len(CASES) >= 70 and len({p for _, p in CASES.values()}) >= 70


# -- failed ensemble members are failed everywhere, never "0 live neurons" ------------------------
def _ensemble_with_a_failed_member():
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1, 2))
    with torch.no_grad():
        ens.weight[0][1, 0, 0] = NAN
    res = models.train(ens, SQ, models.TrainConfig(**{**ONE_STEP, "steps": 3}))
    return res


def test_a_member_that_failed_in_training_is_marked_failed_in_every_analysis():
    res = _ensemble_with_a_failed_member()
    ens = res.model
    assert list(res.failed) == [1] and ens.failed == res.failed
    live = interp.live_neurons(ens, SQ, n_samples=256)
    assert list(live.failed) == [1]
    assert np.isnan(live.counts()["hidden.0"][1]) and (live.counts()["hidden.0"][[0, 2]] > 0).all()
    assert not live["hidden.0"][1].any()
    red = interp.redundancy(ens, SQ, n_samples=256)
    assert list(red.failed) == [1] and np.isnan(red.fraction()[1]) and (red.counts["hidden.0"][1] == -1).all()
    assert "failed" in red.to_dict()
    for method in ("weights", "ablation", "attribution"):
        alloc = interp.allocate(ens, SQ, method=method, n_samples=256, progress=False)
        assert list(alloc.failed) == [1], method
        assert np.isnan(alloc.n_live[1]) and alloc.n_live[0] > 0
        assert np.isnan(alloc.counts()["x^2"][1]) and np.isnan(alloc.losses[1]).all()
        assert math.isnan(alloc[1].n_live) and not alloc[0].failed
        assert "FAILED" in alloc[1].table() and "FAILED" not in alloc[0].table()
    back = interp.Allocation.from_json(alloc.to_json())
    assert back.failed == alloc.failed and np.isnan(back.n_live[1])
    assert back.to_dict()["members"][1]["counts"] == {"x^2": None}


def test_the_failed_record_survives_a_checkpoint_and_marks_finite_members_too():
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1))
    ens.failed = {0: "objective became inf at step 3"}   # rolled back: its weights are finite
    folder = models.save(ens, tempfile.mkdtemp())
    loaded = models.load(folder).model
    assert loaded.failed == {0: "objective became inf at step 3"}
    live = interp.live_neurons(loaded, SQ, n_samples=128)
    assert live.failed == loaded.failed and np.isnan(live.total()[0]) and live.total()[1] > 0


def test_a_member_with_nan_activations_is_failed_not_refused():
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1))
    with torch.no_grad():
        ens.weight[1][0, 0, 0] = INF          # the read-out of member 0: its losses, not activations
    alloc = interp.allocate(ens, SQ, method="ablation", n_samples=128, progress=False)
    assert list(alloc.failed) == [0] and "losses" in alloc.failed[0]
    assert np.isnan(alloc.n_live[0]) and alloc.n_live[1] > 0


# -- memory flat in the number of samples ----------------------------------------------------
class _Spy(Parallel):
    """Parallel, recording how many samples each draw asks for."""

    asked: list = []

    def sample(self, n, generator):
        _Spy.asked.append(n)
        return super().sample(n, generator)


@pytest.mark.parametrize("analysis", ["live_neurons", "redundancy", "allocate"])
def test_task_inputs_are_drawn_in_pieces_not_all_at_once(analysis):
    net = models.MLP(models.MLPConfig(d_in=2, widths=(4,), d_out=2))
    _Spy.asked = []
    n = 20_000
    if analysis == "allocate":
        interp.allocate(net, _Spy(), method="ablation", n_samples=n, batch_size=256, progress=False)
        expected = 2 * n   # statistics and ablation (the ablation's first piece sizes its side-by-side chunks)
    else:
        getattr(interp, analysis)(net, _Spy(), n_samples=n, batch_size=256)
        expected = n
    draws = [k for k in _Spy.asked if k > 2]   # check_task's own 2-sample probe aside
    assert max(_Spy.asked) <= 256 and sum(draws) == expected


@pytest.mark.parametrize("task", [Square(), Parallel(0.3), Series(), Function("sin"), SparseParity(),
                                  SparseParity(5, 32, 3, loss_type="ce"), SparseParity(7, 30, 3, disjoint=False)])
def test_pieces_hold_the_samples_of_the_one_batch(task):
    whole = task.eval_batch(1000, torch.Generator().manual_seed(5))
    pieces = list(task.eval_pieces(1000, 96, torch.Generator().manual_seed(5)))
    assert max(p.x.shape[0] for p in pieces) <= 96 and task.eval_count(1000) == whole.x.shape[0]
    for a, b in zip(whole, (torch.cat(t) for t in zip(*pieces))):
        assert torch.equal(a, b)
