"""Running a figure at toy size and checking what it wrote (shared by the figure tests)."""
from __future__ import annotations

import dataclasses
import json

from interp import figures
from interp.figures.claims import ClaimTest
from models.jsonable import jsonable


def tiny(recipe, changes: dict):
    return dataclasses.replace(recipe, **changes) if dataclasses.is_dataclass(recipe) else {**recipe, **changes}


def run_at_toy_size(tmp_path, name: str, changes: dict) -> dict:
    """Run figure ``name`` with its quick recipe changed by ``changes`` into ``tmp_path`` and
    check what it wrote: its PNG, its JSON (the recipe that ran, the claims) and every claim row."""
    module = figures.load(name)
    recipe = tiny(module.QUICK, changes)
    res = module.run(tmp_path, recipe)
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["figure"] == name and saved["claims"] == json.loads(json.dumps(res["claims"]))
    assert saved["numbers"]["recipe"] == json.loads(json.dumps(jsonable(recipe)))  # what ran is what is saved
    assert res["claims"], "a figure states at least one claim"
    for c in res["claims"]:
        assert set(c) - {"test"} == {"claim", "paper", "ours", "interval", "agree", "note"}, c
        if "test" in c:  # a declared test decides the row on its interval (interp.figures.claims.ClaimTest)
            assert c["test"]["kind"] in ("target", "below", "above", "not", "none"), c
            if c["interval"] is not None and c["test"]["kind"] != "none":
                assert c["agree"] == ClaimTest(c["test"]["kind"], c["test"]["value"]).decide(c["interval"]), c
        assert c["agree"] in (True, False, None)
        assert c["interval"] is None or (len(c["interval"]) == 2 and c["interval"][0] <= c["interval"][1]), c
    return res
