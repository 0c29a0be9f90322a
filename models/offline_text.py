"""English and Python text that every installation holds: the source and docstrings of the
PyTorch modules in ``TEXT_MODULES`` (the version ``constraints.txt`` pins, so the text stays put
when the toolkit's own code changes). The SmolLM2 study reads its python and prose from here
(``interp.figures.lm_corpus``), and ``SkillTokens(prose=True)`` its prose subtask.

>>> code, prose = torch_text()
>>> "class Module" in code and prose[:1].isupper()
True
"""
from __future__ import annotations

import functools
import importlib
import inspect
import warnings


TEXT_MODULES = ("torch.nn.modules.module", "torch.optim.lr_scheduler", "torch.utils.data.dataloader",
                "torch.utils.checkpoint", "torch.nn.modules.conv", "torch.nn.modules.rnn",
                "torch.nn.modules.transformer", "torch.nn.modules.loss", "torch.nn.modules.activation",
                "torch.nn.functional", "torch.optim.optimizer", "torch.serialization", "torch.autograd.function",
                "torch.utils.data.dataset", "torch.utils.data.sampler", "torch.distributions.distribution",
                "torch.nn.modules.batchnorm", "torch.nn.modules.pooling", "torch.nn.parallel.distributed",
                "torch.optim.adam", "torch.optim.sgd", "torch.nn.init", "torch.nn.utils.parametrize",
                "torch.fx.graph_module", "torch.fx.graph", "torch._tensor", "torch.autograd.graph",
                "torch.distributed.distributed_c10d", "torch.nn.modules.sparse", "torch.nn.modules.linear")
"""The modules whose source and docstrings are the python and prose text: PyTorch's, whose
version ``constraints.txt`` pins, so the text stays put when the toolkit's own code changes."""


MORE_TEXT = ("torch.nn", "torch.optim", "torch.utils.data", "torch.distributions", "torch.fx", "torch.autograd",
             "torch.ao.quantization", "torch.export")
"""Packages whose modules (in sorted order) extend the text when a recipe asks for more."""


def module_text(name: str) -> tuple[str, list[str]]:
    """(source, docstring paragraphs of prose) of module ``name`` (empty where unreadable)."""
    with warnings.catch_warnings():          # importing and reading deprecated names warns; they are only read
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            m = importlib.import_module(name)
            code = inspect.getsource(m)
        except Exception:  # noqa: BLE001 - a module that will not import or has no source adds nothing
            return "", []
        own = [v for v in vars(m).values() if (inspect.isfunction(v) or inspect.isclass(v))
               and getattr(v, "__module__", None) == m.__name__]
        docs = [inspect.getdoc(obj) or "" for obj in [m, *own]]
    prose = []
    for doc in docs:
        for para in doc.split("\n\n"):
            lines = [ln for ln in para.splitlines() if not ln.lstrip().startswith((">>>", "...", "-", "|"))]
            text = " ".join(ln.strip() for ln in lines)
            if len(text) > 80 and text.count("`") < 4 and text[0].isupper():
                prose.append(text)
    return code, prose


@functools.lru_cache(maxsize=8)
def torch_text(chars: int = 0) -> tuple[str, str]:
    """(python source, docstring prose) of ``TEXT_MODULES``, then of ``MORE_TEXT``'s modules
    until the prose holds ``chars`` characters."""
    import pkgutil

    codes, prose = [], []
    for name in TEXT_MODULES:
        c, p = module_text(name)
        codes.append(c)
        prose += p
    if sum(map(len, prose)) < chars:
        more = []
        for pkg in MORE_TEXT:
            try:
                root = importlib.import_module(pkg)
            except Exception:  # noqa: BLE001
                continue
            more += [pkg] + sorted(i.name for i in pkgutil.walk_packages(root.__path__, pkg + ".", onerror=lambda _: None)
                                   if "._" not in i.name and "test" not in i.name)
        for name in dict.fromkeys(more):
            if name in TEXT_MODULES:
                continue
            c, p = module_text(name)
            codes.append(c)
            prose += p
            if sum(map(len, dict.fromkeys(prose))) >= chars:
                break
    return "\n\n".join(c for c in codes if c), "\n".join(dict.fromkeys(prose))
