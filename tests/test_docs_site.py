"""The documentation site: it builds with --strict and no warning, its API pages name every
public name of ``models``, ``probes`` and ``interp``, and its claims tables are the ones the
toolkit's own ``claims_table`` makes from the committed figure JSON (and, for the papers'
settings, the one ``interp reproduce`` wrote into ``docs/full/REPORT.md``)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest

if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings_handlers") is None:
    pytest.skip("mkdocs and mkdocstrings-python are not installed (pip install -e '.[docs]'; make test installs them)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGES = ("models", "probes", "interp")


def _site_pages():
    spec = importlib.util.spec_from_file_location("site_pages", ROOT / "scripts" / "site_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return out, log


def test_builds_strict_without_warnings(site):
    out, log = site
    warnings = [line for line in log.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert warnings == []
    for page in ("index.html", "getting-started/index.html", "design/index.html", "performance/index.html",
                 "results/claims/index.html", "results/ladders/index.html", "changelog/index.html",
                 *(f"api/{p}/index.html" for p in PACKAGES)):
        assert (out / page).is_file(), page


def _user_names(package: str) -> list[str]:
    """What a user sees: ``from package import *`` takes ``__all__``."""
    return list(importlib.import_module(package).__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_api_pages_name_every_public_name(site, package):
    out, _ = site
    html = (out / "api" / package / "index.html").read_text()
    missing = [n for n in _user_names(package) if f'id="{package}.{n}"' not in html]
    assert missing == [], f"api/{package} lacks {missing}"
    module = importlib.import_module(package)
    for name in _user_names(package):
        obj = getattr(module, name)
        if isinstance(obj, ModuleType):
            # each public submodule is rendered, with the names its own __all__ exports
            assert f'id="{obj.__name__}.module"' in html, obj.__name__
            for sub_name in getattr(obj, "__all__", []):
                assert f'id="{obj.__name__}.{sub_name}"' in html, f"{obj.__name__}.{sub_name}"
        else:
            # the docstring was rendered below the name (mkdocstrings' object block)
            start = html.index(f'id="{package}.{name}"')
            assert 'class="doc doc-object' in html[start:start + 5000], f"{package}.{name} has no rendered entry"


def test_doctests_render_as_code(site):
    out, _ = site
    html = (out / "api" / "models" / "index.html").read_text()
    assert "&gt;&gt;&gt;" in html and "<blockquote>\n<blockquote>" not in html


class _Tables(HTMLParser):
    """Rows of cell texts of the tables inside each ``<div id=...>``."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._div_stack: list[str | None] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            self._div_stack.append(dict(attrs).get("id"))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "div" and self._div_stack:
            self._div_stack.pop()
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            key = next((d for d in reversed(self._div_stack) if d), None)
            if key is not None:
                self.tables.setdefault(key, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _markdown_rows(table: str) -> list[list[str]]:
    """A markdown table's rows as the text a reader sees (the separator row dropped)."""
    rows = []
    for line in table.strip().splitlines():
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        if all(re.fullmatch(r"-+", c.strip()) for c in cells):
            continue
        rows.append([" ".join(c.replace("\\|", "|").replace("**", "").split()) for c in cells])
    return rows


def _site_tables(out: Path) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed((out / "results" / "claims" / "index.html").read_text())
    return parser.tables


def test_claims_tables_are_the_toolkits(site):
    from interp.figures import FIGURES
    from interp.figures.reproduce import claims_table

    out, _ = site
    tables = _site_tables(out)

    def ordered(paths: dict[str, Path]) -> dict[str, dict]:
        names = [n for n in FIGURES if n in paths]
        assert sorted(names) == sorted(paths)
        return {n: json.loads(paths[n].read_text()) for n in names}

    full = ordered({p.stem: p for p in (DOCS / "full").glob("*.json")})
    assert {r["recipe"] for r in full.values()} == {"full"}
    expected = _markdown_rows(claims_table(full))
    assert len(expected) > 30
    assert tables["claims-full"] == expected
    # the same table interp reproduce wrote when these figures ran
    report = (DOCS / "full" / "REPORT.md").read_text()
    written = report.split("## Claims", 1)[1].split("## Figures", 1)[0]
    assert _markdown_rows(written) == expected

    quick = ordered({n: DOCS / p for n, p in _site_pages().QUICK_SOURCES.items()})
    assert {r.get("recipe", "quick") for r in quick.values()} == {"quick"}
    assert tables["claims-quick"] == _markdown_rows(claims_table(quick))

    # the SmolLM2 study's rows as interp reproduce wrote them beside its JSON, where it did
    lm_report = DOCS / Path(_site_pages().QUICK_SOURCES["lm_resources"]).parent / "REPORT.md"
    if lm_report.exists():
        written = lm_report.read_text().split("## Claims", 1)[1].split("## Figures", 1)[0]
        assert all(row in tables["claims-quick"] for row in _markdown_rows(written)[1:])
    # the earlier runs of the study, each its own table
    for folder in sorted(p.parent.name for p in (DOCS / "lm").glob("*/lm_resources.json")):
        earlier = {"lm_resources": json.loads((DOCS / "lm" / folder / "lm_resources.json").read_text())}
        assert tables[f"claims-{folder.replace('_', '-')}"] == _markdown_rows(claims_table(earlier))


def test_ladder_page_has_every_ladder(site):
    out, _ = site
    html = (out / "results" / "ladders" / "index.html").read_text()
    for path in sorted((DOCS / "ladder").glob("*_ladder.json")):
        ladder = json.loads(path.read_text())
        assert f'id="{ladder["figure"]}"' in html, ladder["figure"]
        for claim in ladder["claims"]:
            assert claim["claim"].split(":")[0].replace("&", "&amp;") in html
