"""The packages' layout, read from the source with ``ast`` (nothing is mocked, nothing but the
theory is imported): the theory loads without torch; imports only go down (``models`` <-
``probes`` <- ``interp``); no module takes another folder's private names; and the modules'
module-level imports form no circle. The graph functions are first tried on small planted
packages, so a test that passes here has shown it can fail."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "probes", "interp")
"""Lowest layer first: a package may import only the ones before it."""


# -- reading the imports -------------------------------------------------------------------------
@dataclass(frozen=True)
class Import:
    """One import of a module of the packages by another: ``target`` is the module it loads (the
    most specific one: ``from pkg import sub`` loads ``pkg.sub`` when that is a module),
    ``names`` the names it takes from ``target`` (empty for ``import x``), ``deferred`` why it
    does not run when the importer is imported ("" when it does)."""

    importer: str
    target: str
    names: tuple[str, ...]
    file: Path
    line: int
    deferred: str  # "", "inside a function" or "under TYPE_CHECKING"

    @property
    def module_level(self) -> bool:
        return not self.deferred

    def where(self, root: Path) -> str:
        return f"{self.file.relative_to(root)}:{self.line}"


def find_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the packages (``pkg/__init__.py`` is ``pkg``)."""
    out = {}
    for top in packages:
        for f in sorted((root / top).rglob("*.py")):
            parts = f.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body, deferred: str = ""):
    """(import statement, why it is deferred) for every import in ``body``, nested ones included."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, deferred
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    yield child, deferred or "inside a function"
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, deferred or "under TYPE_CHECKING")
            yield from _statements(node.orelse, deferred)
        else:  # class bodies and if/try/with/for/while blocks run at import time
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _statements(getattr(node, field, None) or [], deferred)


def read_imports(root: Path, packages=PACKAGES) -> tuple[dict[str, Path], list[Import]]:
    """Every import of a module of ``packages`` by a module of ``packages`` (imports of anything
    else are left out), relative ones resolved."""
    modules = find_modules(root, packages)
    found = []
    for name, file in modules.items():
        is_package = file.name == "__init__.py"
        for node, deferred in _statements(ast.parse(file.read_text(), str(file)).body):
            edge = dict(importer=name, file=file, line=node.lineno, deferred=deferred)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in packages:
                        found.append(Import(target=alias.name, names=(), **edge))
                continue
            if node.level:  # relative: from the importer's package, up level - 1 packages
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            if source.split(".")[0] not in packages:
                continue
            plain = []
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:  # from pkg import submodule
                    found.append(Import(target=f"{source}.{alias.name}", names=(), **edge))
                else:
                    plain.append(alias.name)
            if plain:
                found.append(Import(target=source, names=tuple(plain), **edge))
    return modules, found


# -- the rules -----------------------------------------------------------------------------------
def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _folder(module: str, modules: dict[str, Path]) -> str:
    """The package whose folder holds ``module``'s file."""
    return module if modules[module].name == "__init__.py" else module.rpartition(".")[0]


def private_crossings(modules: dict[str, Path], imports: list[Import], root: Path) -> list[str]:
    """Imports of a private name (or through a private module) from another folder: another
    top-level package or another subpackage."""
    out = []
    for imp in imports:
        if imp.target not in modules or _folder(imp.importer, modules) == _folder(imp.target, modules):
            continue
        names = [n for n in imp.names if _private(n)]
        if any(_private(part) for part in imp.target.split(".")):
            out.append(f"{imp.where(root)}: {imp.importer} imports the private module {imp.target}")
        elif names:
            out.append(f"{imp.where(root)}: {imp.importer} imports {', '.join(names)} from {imp.target}")
    return out


def upward_imports(imports: list[Import], root: Path, packages=PACKAGES) -> list[str]:
    """Imports (at module level or inside functions) of a package from one below it."""
    rank = {p: i for i, p in enumerate(packages)}
    return [f"{imp.where(root)}: {imp.importer} imports {imp.target}"
            + (f" ({imp.deferred})" if imp.deferred else "")
            for imp in imports if rank[imp.target.split(".")[0]] > rank[imp.importer.split(".")[0]]]


def import_cycles(modules: dict[str, Path], imports: list[Import]) -> list[list[Import]]:
    """One shortest circle of module-level imports through each strongly connected group of
    modules (Tarjan's algorithm for the groups, breadth-first search for the circle), as the
    imports that close it; a module importing itself counts."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for imp in imports:
        if imp.module_level and imp.target in modules:
            graph[imp.importer].setdefault(imp.target, imp)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def connect(v):  # recursion depth is bounded by the number of modules (a few hundred)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles = []
    for group in groups:
        start = min(group)
        if len(group) == 1 and start not in graph[start]:
            continue
        # breadth first from start, inside the group, until a module that imports start
        previous, frontier, last = {start: None}, [start], None
        while last is None:
            last = next((v for v in frontier if start in graph[v]), None)
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in group and w not in previous:
                        previous[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [last]
        while previous[path[-1]] is not None:
            path.append(previous[path[-1]])
        path.reverse()  # start ... last, and last imports start
        cycles.append([graph[a][b] for a, b in zip(path, path[1:] + [start])])
    return sorted(cycles, key=lambda c: c[0].importer)


def describe(cycle: list[Import], root: Path) -> str:
    return " -> ".join([cycle[0].importer] + [f"{imp.target} ({imp.where(root)})" for imp in cycle])


# -- the rules tried on planted packages ---------------------------------------------------------
def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


PLANTED = {
    "low/__init__.py": "from .a import A\n",
    "low/a.py": "from low import b\nA = 1\n",                     # a -> b -> c -> a: a circle of three
    "low/b.py": "import low.c\n",
    "low/c.py": "from .a import A\nfrom . import _helpers\n",     # own folder: private is fine
    "low/_helpers.py": "def f():\n    from . import a\n",          # inside a function: no edge
    "low/sub/__init__.py": "",
    "low/sub/d.py": "from ..c import _x\nfrom low._helpers import f\n",  # another subpackage: two crossings
    "low/sub/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import top.z\n"
                    "def g():\n    import mid.m\n",                 # upward, but only inside a function
    "mid/__init__.py": "",
    "mid/m.py": "import low.a\nfrom low.c import __doc__ as doc, _y\n",  # a private name across packages
    "top/__init__.py": "",
    "top/z.py": "import mid.m\nfrom top import z\n",                   # z imports itself
}


def test_the_rules_find_what_is_planted(tmp_path):
    root = _plant(tmp_path, PLANTED)
    packages = ("low", "mid", "top")
    modules, imports = read_imports(root, packages)
    assert set(modules) == {"low", "low.a", "low.b", "low.c", "low._helpers", "low.sub", "low.sub.d", "low.sub.e",
                            "mid", "mid.m", "top", "top.z"}
    edges = {(i.importer, i.target, i.module_level) for i in imports}
    assert ("low.a", "low.b", True) in edges and ("low.b", "low.c", True) in edges  # from pkg import sub; import x.y
    assert ("low.c", "low.a", True) in edges and ("low.sub.d", "low.c", True) in edges  # relative, one and two dots
    assert ("low._helpers", "low.a", False) in edges and ("low.sub.e", "mid.m", False) in edges
    assert ("low.sub.e", "top.z", False) in edges  # under TYPE_CHECKING: not run at import time

    assert private_crossings(modules, imports, root) == [
        "low/sub/d.py:1: low.sub.d imports _x from low.c",
        "low/sub/d.py:2: low.sub.d imports the private module low._helpers",
        "mid/m.py:2: mid.m imports _y from low.c",
    ]
    assert upward_imports(imports, root, packages) == [
        "low/sub/e.py:3: low.sub.e imports top.z (under TYPE_CHECKING)",
        "low/sub/e.py:5: low.sub.e imports mid.m (inside a function)",
    ]
    cycles = import_cycles(modules, imports)
    assert [describe(c, root) for c in cycles] == [
        "low.a -> low.b (low/a.py:1) -> low.c (low/b.py:1) -> low.a (low/c.py:1)",
        "top.z -> top.z (top/z.py:2)",
    ]


def test_the_shortest_circle_is_reported_through_a_larger_group(tmp_path):
    root = _plant(tmp_path, {"p/__init__.py": "", "p/a.py": "from . import b, c\n", "p/b.py": "from . import c\n",
                             "p/c.py": "from . import a\n"})
    modules, imports = read_imports(root, ("p",))
    assert [describe(c, root) for c in import_cycles(modules, imports)] == [
        "p.a -> p.c (p/a.py:1) -> p.a (p/c.py:1)"]


# -- the packages ---------------------------------------------------------------------------------
MODULES, IMPORTS = read_imports(ROOT)


def test_the_packages_are_read_whole():
    assert {"models.validate", "probes.stream", "interp.allocation", "interp.theory.fits",
            "interp.figures.recipes"} <= set(MODULES)
    assert len([i for i in IMPORTS if i.module_level]) > 100  # the reader sees the real imports


def test_importing_the_theory_loads_no_torch():
    code = "import sys, interp.theory; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "False", "import interp.theory loaded torch"


def test_the_pure_maths_modules_load_without_torch_or_the_zoo():
    """fits, scaling, multilinear and calibration need numpy and scipy only: their argument
    checks come from models.validate, the toolkit's one validation module, which imports
    nothing (and `import models` itself loads its names lazily, through models.lazy)."""
    code = ("import sys; import interp.theory.fits, interp.theory.resource, interp.theory.multilinear, interp.theory.calibration; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('models')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['models', 'models.lazy', 'models.validate']"


def test_imports_only_go_down():
    found = upward_imports(IMPORTS, ROOT)
    assert not found, ("models imports nothing of probes or interp, probes nothing of interp:\n  "
                       + "\n  ".join(found))


def test_no_module_takes_another_folders_private_names():
    found = private_crossings(MODULES, IMPORTS, ROOT)
    assert not found, ("a private name (leading underscore) is imported from another package or subpackage; "
                       "make it public or move it:\n  " + "\n  ".join(found))


def test_module_level_imports_form_no_circle():
    cycles = import_cycles(MODULES, IMPORTS)
    inside = sum(not i.module_level for i in IMPORTS)
    assert not cycles, (f"{len(cycles)} import circle(s) among module-level imports ({inside} imports inside "
                        "functions not counted):\n  " + "\n  ".join(describe(c, ROOT) for c in cycles))


# -- names called but bound nowhere --------------------------------------------------------------
def _bound(tree: ast.AST) -> set[str]:
    """Every name a file binds anywhere: definitions, arguments, assignments, imports, handlers."""
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
    return names


def unbound_calls(source: str) -> list[tuple[str, int]]:
    """(name, line) of each call of a bare name that the file binds nowhere and Python does not
    provide: a NameError waiting for the line to run (a benchmark's last section, say)."""
    import builtins
    tree = ast.parse(source)
    known = _bound(tree) | set(dir(builtins)) | {"__file__", "__name__"}
    return sorted({(n.func.id, n.lineno) for n in ast.walk(tree)
                   if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in known})


def test_no_file_calls_a_name_it_binds_nowhere():
    planted = "import json\n\ndef main(x):\n    helper = len\n    return own_texts(json.dumps(helper(x)))\n"
    assert unbound_calls(planted) == [("own_texts", 5)]
    files = [p for folder in (*PACKAGES, "benchmarks", "examples", "scripts", "tests") for p in (ROOT / folder).rglob("*.py")]
    assert len(files) > 100
    found = {str(p.relative_to(ROOT)): unbound_calls(p.read_text()) for p in files}
    assert not {k: v for k, v in found.items() if v}
