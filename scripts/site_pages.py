"""The documentation site's generated pages (a mkdocs hook: ``hooks:`` in ``mkdocs.yml``).

At every build, before mkdocs reads its pages, this adds:

- ``api/models.md``, ``api/probes.md``, ``api/interp.md``: one section per public name of the
  package (its ``__all__``, as ``from models import *`` and ``help(models)`` see it), each
  rendered by mkdocstrings from the object's docstring at the place it is defined now, and one
  section per public submodule with its public members. Nothing is listed by hand, so a name
  that moves between modules moves on the site with it.
- ``results/claims.md``: the claims tables, made by the toolkit's own
  ``interp.figures.reproduce.claims_table`` from the figure JSON committed under ``docs/``
  (the papers' settings in ``docs/full/``, the quick recipe's figures whose JSON is committed,
  the SmolLM2 study and its earlier runs in ``docs/lm/``).
- ``results/ladders.md``: every budget ladder of ``docs/ladder/``, each claim's value and
  interval at each rung and its verdict, read from the ladder JSON.
- ``changelog.md``: ``CHANGELOG.md`` from the repository's root.

``python scripts/site_pages.py OUT`` writes the same pages into a folder, to read them
without building the site.
"""
from __future__ import annotations

import importlib
import inspect
import json
import math
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGES = ("models", "probes", "interp")

# The quick recipe's figure JSON that is committed: docs/quick holds those run since the
# loss-floor rule, the first rung of a budget ladder is the quick recipe itself (``interp
# reproduce`` labels it ``quick``), and docs/lm holds the SmolLM2 study. The other quick figures' JSON is written by ``make run`` into runs/reproduce.
QUICK_SOURCES = {
    "fig2_square": "quick/fig2_square.json",
    "fig3_parallel": "quick/fig3_parallel.json",
    "fig5_functions": "quick/fig5_functions.json",
    "fig6_ensembling": "quick/fig6_ensembling.json",
    "emergence_fig1_data": "quick/emergence_fig1_data.json",
    "emergence_fig1_params": "ladder/rungs/emergence_fig1_params/steps=5000/emergence_fig1_params.json",
    "lm_resources": "lm/lm_resources.json",
    "lm_family": "quick/lm_family.json",
}
FULL_FOLDER = "full"
ONE_AXIS = "one_axis"
"""docs/ladder/one_axis: ladders run along one axis, kept once a recipe-path ladder replaced them."""
# Earlier runs of the SmolLM2 study, kept beside the current one (docs/lm/<folder>/).
LM_EARLIER = {
    "verified_4096": "`method=\"verified\"` on 4 096 counted tokens per subtask (decisions at "
                     "false-discovery rate 0.05 printed as the counts)",
    "census_groups_256": "the census design with the tail group-tested in blocks of 128 "
                         "(no block cleared on SmolLM2)",
    "census_signed_256": "the census design with neurons ranked by their signed attribution",
    "census_uncapped_400": "the census design ranked by attribution magnitude, its census free to "
                           "grow over the whole ablation budget (before `Design.growth_share`)",
}


# ----------------------------------------------------------------------------------------------
# results


def figure_order() -> list[str]:
    """The figures in the report's order (``interp.figures.FIGURES``)."""
    from interp.figures import FIGURES
    return list(FIGURES)


def load_results(paths: dict[str, Path], recipe: str | None = None) -> dict[str, dict]:
    """Figure name -> its JSON, in the report's order; ``recipe`` refuses a file of another."""
    order = figure_order()
    names = [n for n in order if n in paths] + sorted(n for n in paths if n not in order)
    results = {}
    for name in names:
        res = json.loads(Path(paths[name]).read_text())
        if res.get("figure", name) != name:
            raise ValueError(f"{paths[name]} holds figure {res.get('figure')!r}, not {name!r}")
        if recipe is not None and res.get("recipe", recipe) != recipe:
            raise ValueError(f"{paths[name]} was made with recipe {res.get('recipe')!r}, not {recipe!r}")
        results[name] = res
    return results


def full_results(docs: Path = DOCS) -> dict[str, dict]:
    """The figures run at the papers' settings: every figure JSON in ``docs/full``."""
    paths = {p.stem: p for p in sorted((docs / FULL_FOLDER).glob("*.json"))}
    return load_results(paths, recipe="full")


def quick_results(docs: Path = DOCS) -> dict[str, dict]:
    """The quick recipe's figures whose JSON is committed (``QUICK_SOURCES``)."""
    return load_results({n: docs / p for n, p in QUICK_SOURCES.items()}, recipe="quick")


def lm_earlier_results(docs: Path = DOCS) -> dict[str, dict[str, dict]]:
    """Every earlier run of the SmolLM2 study kept in a folder of ``docs/lm``."""
    folders = sorted(p.parent.name for p in (docs / "lm").glob("*/lm_resources.json"))
    return {folder: load_results({"lm_resources": docs / "lm" / folder / "lm_resources.json"})
            for folder in folders}


def tally(results: dict[str, dict]) -> dict[str, int]:
    """Figures, claims, and how many agree, disagree or carry no test."""
    claims = [c for r in results.values() for c in r.get("claims", [])]
    yes = sum(1 for c in claims if c.get("agree") is True)
    no = sum(1 for c in claims if c.get("agree") is False)
    return {"figures": len(results), "claims": len(claims), "agree": yes, "disagree": no,
            "no_test": len(claims) - yes - no}


def _tally_text(t: dict[str, int]) -> str:
    return (f"{t['figures']} figures, {t['claims']} claims: {t['agree']} agree with the papers, "
            f"{t['disagree']} disagree, {t['no_test']} carry no test")


def _claims_block(key: str, results: dict[str, dict]) -> str:
    from interp.figures.reproduce import claims_table
    return f'<div class="claims" id="claims-{key}" markdown="1">\n\n{claims_table(results)}\n\n</div>'


def claims_page(docs: Path = DOCS) -> str:
    full, quick = full_results(docs), quick_results(docs)
    seconds_full = sum(float(r.get("seconds") or 0) for r in full.values())
    lines = [
        "# Claims tables",
        "",
        "Every table on this page is made at build time by `interp.figures.reproduce.claims_table`, "
        "the function that writes the claims table of `interp reproduce`'s `REPORT.md`, from the "
        "figure JSON committed under `docs/`. The *paper* column quotes the papers; every number "
        "under *ours* was computed by the figure's module; *agree?* applies the test stated in the "
        "note.",
        "",
        "## At the papers' settings",
        "",
        f"`docs/full/`: {_tally_text(tally(full))}; the figures' compute time "
        f"{seconds_full / 60:.1f} min. These are the figures whose FULL recipe ran "
        "(see [the papers' settings](../guides/papers-settings.md)).",
        "",
        _claims_block("full", full),
        "",
        "## At the quick recipes",
        "",
        f"The quick recipe's figures whose JSON is committed: {_tally_text(tally(quick))}. "
        + ", ".join(f"`{n}` from `docs/{p}`" for n, p in QUICK_SOURCES.items()) + ". "
        "`make run` writes every figure's JSON and this table for all of them into "
        "`runs/reproduce/REPORT.md`; the rows of the last whole run for the figures whose JSON "
        "is not committed are kept on [Quick recipes](quick.md).",
        "",
        _claims_block("quick", quick),
        "",
        "## Earlier runs of the SmolLM2 study",
        "",
        "Kept beside the current study (`docs/lm/`) as they were made.",
        "",
    ]
    for folder, results in lm_earlier_results(docs).items():
        what = LM_EARLIER.get(folder, f"an earlier run of the study (recipe {results['lm_resources'].get('recipe', 'not recorded')}; "
                                      f"`docs/lm/{folder}/REPORT.md` says how it was made)")
        lines += [f"### `docs/lm/{folder}/`", "", f"{what}: {_tally_text(tally(results))}.", "",
                  _claims_block(folder.replace("_", "-"), results), ""]
    return "\n".join(lines)


def _num(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_num(x) for x in v) + "]"
    return str(v)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rung_cell(row: dict | None) -> str:
    if row is None:
        return "not run"
    text = _num(row.get("ours"))
    if row.get("interval") is not None:
        text += " " + _num(row.get("interval"))
    mark = {True: "yes", False: "**no**", None: "n/a"}[row.get("agree")]
    return _cell(f"{text} ({mark})")


def ladders_page(docs: Path = DOCS) -> str:
    order = figure_order()
    paths = {p.name[: -len("_ladder.json")]: p for p in (docs / "ladder").glob("*_ladder.json")}
    names = [n for n in order if n in paths] + sorted(n for n in paths if n not in order)
    earlier = {p.name[: -len("_ladder.json")]: p for p in (docs / "ladder" / ONE_AXIS).glob("*_ladder.json")}
    lines = [
        "# Budget ladders",
        "",
        "Generated at build time from `docs/ladder/<figure>_ladder.json`, as "
        "`interp reproduce --ladder FIG` wrote them (verdicts recomputed by "
        "`--verdicts-only` where the text on [the papers' settings](../guides/papers-settings.md) "
        "says so). Each cell: our value, its 95% interval where there is one, and whether the "
        "claim's test agreed at that rung. What the ladders found is told on that page.",
        "",
    ]
    for name in names:
        lines += _ladder_section(name, paths[name], "##", "../ladder")
    if earlier:
        lines += [f"## Earlier ladders along one axis (`docs/ladder/{ONE_AXIS}/`)", "",
                  "Run before the ladders walked the recipe path, for the figures whose recipe-path "
                  "ladder has since run; kept as they were made.", ""]
        for name in sorted(earlier, key=lambda n: order.index(n) if n in order else len(order)):
            lines += _ladder_section(name, earlier[name], "###", f"../ladder/{ONE_AXIS}")
    return "\n".join(lines)


def _ladder_section(name: str, path: Path, level: str, rel: str) -> list[str]:
    """One ladder's heading, runs, claims table and figure."""
    lad = json.loads(path.read_text())
    rungs = lad.get("rungs", [])
    runs = {r["rung"]: r for r in lad.get("runs", [])}
    lines = [f"{level} {name}", "", f"Axis `{lad.get('axis')}`, rungs {', '.join(_num(r) for r in rungs)}. "
             f"{lad.get('note', '')}".rstrip(), ""]

    def moved(i):       # the fields a recipe-path rung moved beside the axis
        along = runs.get(i, {}).get("along") or {}
        return "".join(f", {len(v)} seeds" if k == "seeds" and isinstance(v, list) else f", {k} {_num(v)}"
                       for k, v in along.items())

    def took(r):         # a panel drawn again from its kept strengths gives its training's seconds
        return (f"trained in {_num(r['train_seconds'])} s" if r.get("train_seconds") else
                f"{_num(r.get('seconds'))} s") + f", {r.get('status', 'ran')}"

    times = [f"rung {i} ({_num(v)}{moved(i)}): " + (took(runs[i]) if i in runs else "not run")
             for i, v in enumerate(rungs)]
    lines += ["Runs: " + "; ".join(times) + ".", ""]
    head = "| claim | paper | " + " | ".join(f"{lad.get('axis')} = {_num(v)}" for v in rungs) + " | verdict |"
    lines += [head, "|" + "---|" * (len(rungs) + 3)]
    for claim in lad.get("claims", []):
        by_rung = {r["rung"]: r for r in claim.get("rows", [])}
        paper = next((r.get("paper") for r in claim.get("rows", []) if r.get("paper") is not None), "")
        cells = [_rung_cell(by_rung.get(i)) for i in range(len(rungs))]
        everywhere = claim.get("rows") and all(r.get("agree") is True for r in claim["rows"])
        lines.append(f"| {_cell(claim.get('claim'))} | {_cell(paper)} | " + " | ".join(cells)
                     + f" | {_cell(claim.get('verdict') or ('agrees at every rung run' if everywhere else '—'))} |")
    png = path.with_suffix(".png")
    if png.exists():
        lines += ["", f"![{name} ladder]({rel}/{png.name})"]
    lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------
# API reference


def public_names(package: str) -> list[str]:
    """A package's public names as a user sees them: its ``__all__``, else ``dir()`` without _."""
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return list(names)


def _griffe_has(path: str) -> bool:
    import griffe
    package = path.split(".")[0]
    loaded = _GRIFFE.get(package)
    if loaded is None:
        loaded = _GRIFFE[package] = griffe.load(package, search_paths=[str(ROOT)], resolve_aliases=False)
    try:
        obj = loaded[path[len(package) + 1:]] if path != package else loaded
        if obj.is_alias:
            obj.final_target  # noqa: B018  (raises where the alias cannot be followed statically)
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


_GRIFFE: dict = {}


def definition_path(package: str, name: str) -> str:
    """The dotted path mkdocstrings renders ``package.name`` from: the module a module name is,
    the module and qualified name a class or function was defined under, else the first module
    of the package (the package itself first) that binds the same object."""
    module = importlib.import_module(package)
    obj = getattr(module, name)
    if isinstance(obj, ModuleType):
        return obj.__name__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        path = f"{obj.__module__}.{obj.__qualname__}"
        if _griffe_has(path):
            return path
    mods = sorted((m for m_name, m in list(sys.modules.items())
                   if m is not None and (m_name == package or m_name.startswith(package + "."))),
                  key=lambda m: (m.__name__ != package, m.__name__.count("."), m.__name__))
    for m in mods:
        if getattr(m, name, None) is obj and name in vars(m) and _griffe_has(f"{m.__name__}.{name}"):
            return f"{m.__name__}.{name}"
    raise LookupError(f"{package}.{name}: no module of {package} defines it where the API pages can read it")


def submodule_members(module: ModuleType) -> list[str]:
    """A submodule's public names: its ``__all__``, else the names it defines without a _."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    out = []
    for n, v in vars(module).items():
        if n.startswith("_") or isinstance(v, ModuleType):
            continue
        if getattr(v, "__module__", None) == module.__name__ and (inspect.isclass(v) or inspect.isfunction(v)):
            out.append(n)
    return out


def public_submodules(package: str) -> list[str]:
    """The package's public submodules (those in its ``__all__``) and, for a subpackage, the
    public modules inside it, deepest last."""
    import pkgutil
    module = importlib.import_module(package)
    found = []
    for name in public_names(package):
        if isinstance(getattr(module, name), ModuleType):
            sub = importlib.import_module(f"{package}.{name}")
            found.append(sub.__name__)
            if hasattr(sub, "__path__"):
                for info in pkgutil.iter_modules(sub.__path__):
                    if not info.name.startswith("_"):
                        found.append(f"{sub.__name__}.{info.name}")
    return found


_OPTIONS = """\
    options:
      heading_level: {level}
      show_root_heading: true
      show_root_full_path: true
      show_root_toc_entry: false
      show_if_no_docstring: true
      show_source: false
      show_submodules: false"""


def api_page(package: str) -> str:
    module = importlib.import_module(package)
    summary = " ".join((module.__doc__ or "").strip().split("\n\n")[0].split())
    lines = [f"# `{package}`", "",
             summary, "",
             f"Made at build time from `{package}.__all__` and the docstrings: each public name "
             "below is shown where it is defined now (the path under the name). Public "
             "submodules follow, with their own public names.", "",
             f"::: {package}", "    options:", "      show_root_heading: false", "      members: false", "",
             "## Public names", ""]
    for name in public_names(package):
        if isinstance(getattr(module, name), ModuleType):
            lines += [f"### `{package}.{name}` {{#{package}.{name} }}", "",
                      f"The submodule, below: [`{package}.{name}`](#{package}.{name}.module).", ""]
            continue
        path = definition_path(package, name)
        lines += [f"### `{package}.{name}` {{#{package}.{name} }}", "", f"::: {path}",
                  _OPTIONS.format(level=4), ""]
    subs = public_submodules(package)
    if subs:
        lines += ["## Public submodules", ""]
    for sub in subs:
        mod = importlib.import_module(sub)
        members = submodule_members(mod)
        lines += [f"### `{sub}` {{#{sub}.module }}", "", f"::: {sub}", "    options:",
                  "      show_root_heading: false", "      members: false", ""]
        for m in members:
            lines += [f"#### `{sub}.{m}` {{#{sub}.{m} }}", ""]
            if _griffe_has(f"{sub}.{m}"):
                lines += [f"::: {sub}.{m}", _OPTIONS.format(level=5), ""]
            else:  # bound at import time in a way the source does not show: described from the object
                value = getattr(mod, m)
                lines += [f"`{type(value).__name__}` from `{getattr(value, '__module__', None) or sub}`"
                          + (f": `{value!r}`" if len(repr(value)) < 80 else "") + ".", ""]
    return "\n".join(lines)


def fence_doctests(text: str) -> str:
    """Docstring text with each doctest (``>>>`` lines and their output, up to a blank line)
    in a fenced ``pycon`` block, so the site shows it as code rather than as nested quotes
    (Markdown reads ``>>>`` as three levels of quotation). Fenced blocks already there are left
    as they are.
    """
    out, lines, i = [], text.split("\n"), 0
    fence = None
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fence = None if fence else stripped
        if fence is None and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


try:
    import griffe as _griffe_module
except ImportError:  # the generator's pages need no griffe; only the site's build does
    _griffe_module = None

if _griffe_module is not None:
    class DoctestFences(_griffe_module.Extension):
        """griffe extension (``extensions:`` in mkdocs.yml): docstrings' doctests as code."""

        def _fence(self, obj) -> None:
            if getattr(obj, "docstring", None) is not None and ">>>" in obj.docstring.value \
                    and "```pycon" not in obj.docstring.value:
                obj.docstring.value = fence_doctests(obj.docstring.value)

        def on_instance(self, *, obj, **kwargs) -> None:
            self._fence(obj)

        def on_object(self, *, obj, **kwargs) -> None:
            self._fence(obj)

        def on_package(self, *, pkg, **kwargs) -> None:
            self._fence(pkg)


# ----------------------------------------------------------------------------------------------
# the pages, and the mkdocs hook


def pages(root: Path = ROOT) -> dict[str, str]:
    """Site path -> markdown of every generated page."""
    docs = root / "docs"
    out = {f"api/{p}.md": api_page(p) for p in PACKAGES}
    out["results/claims.md"] = claims_page(docs)
    out["results/ladders.md"] = ladders_page(docs)
    out["changelog.md"] = (root / "CHANGELOG.md").read_text()
    return out


def on_files(files, config):
    """mkdocs hook: add the generated pages to the site's files."""
    from mkdocs.structure.files import File
    for src_uri, content in pages().items():
        if files.get_file_from_path(src_uri) is not None:
            raise FileExistsError(f"docs/{src_uri} exists, but the site generates it: remove the file")
        files.append(File.generated(config, src_uri, content=content))
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/site_pages.py OUT_FOLDER")
    for rel, text in pages().items():
        path = Path(sys.argv[1]) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)
