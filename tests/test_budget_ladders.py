"""Budget ladders: the rungs' recipes, the verdicts read from planted claim rows, and a figure
run along a toy ladder end to end (through `interp reproduce --ladder`)."""
import json

import pytest

from interp.cli import main
from interp.figures import fig2_square, fig3_parallel, fig4_series, fig5_functions, lm_resources
from interp.figures.claims import ClaimTest, claim, claim_test
from interp.figures.ladder import paper_number, revise, revise_ladder, verdict
from interp.figures.recipes import Ladder, rung_recipe


def test_rungs_change_their_axis_and_the_fields_the_ladder_fixes():
    r = rung_recipe(fig4_series.QUICK, fig4_series.LADDER, 3)
    assert r.steps == 300_000 and r.decay_every == 20_000 and r.widths == fig4_series.QUICK.widths  # the paper's decay
    assert rung_recipe(fig4_series.QUICK, fig4_series.LADDER, 0).decay_every == 20_000
    assert rung_recipe(fig5_functions.QUICK, fig5_functions.LADDER, 0) == fig5_functions.QUICK
    assert rung_recipe(fig3_parallel.QUICK, fig3_parallel.LADDER, 2).width == 500
    lm = rung_recipe(lm_resources.QUICK, lm_resources.LADDER, 2)
    q = lm_resources.QUICK
    assert (lm.tokens, lm.removal_tokens, lm.seq_len) == (16384, q.removal_tokens * 16384 // q.tokens, q.seq_len)
    with pytest.raises(ValueError, match="axis='depth' is not allowed"):
        rung_recipe(fig2_square.QUICK, Ladder("depth", (1, 2)), 0)
    with pytest.raises(ValueError, match="rung=4 is not allowed"):
        rung_recipe(fig4_series.QUICK, fig4_series.LADDER, 4)


def _rows(values, agrees, paper="≈ -1 (late phase)"):
    return [{"ours": v, "agree": a, "paper": paper, "interval": [v - 0.1, v + 0.1]} for v, a in zip(values, agrees)]


@pytest.mark.parametrize("values, agrees, expected", [
    ([-2.0, -1.5, -1.05], [False, False, True], "explained by budget, measured"),
    ([-2.0, -1.6, -1.4], [False, False, False], "moves toward the paper"),
    ([-2.0, -2.05, -1.95], [False, False, False], "does not move with budget"),
    ([-2.0, -2.5, -3.0], [False, False, False], "moves away from the paper"),
    ([-1.0, -1.1, -1.0], [True, True, True], None),
    ([-1.0, -1.5, -2.0], [True, False, False], "agrees at the quick budget, not at a larger one: a finding"),
    ([-2.0, -1.5, -0.8], [False, False, None], "no test at the last rung (its interval is too wide to decide)"),
])
def test_verdicts_follow_the_distance_to_the_papers_value(values, agrees, expected):
    assert verdict(_rows(values, agrees)) == expected


def _stored(values, intervals, agrees, paper):
    return [{"ours": v, "interval": iv, "agree": a, "paper": paper} for v, iv, a in zip(values, intervals, agrees)]


def test_a_not_claim_moving_off_its_value_moves_toward_the_paper():
    # Fig. 5's sin² [60] on the committed ladder: "not -1", the exponent leaving -1 (-0.60 -> -0.28)
    rows = _stored([-0.602, -0.575, -0.282], [[-1.32, -0.035], [-2.57, 0.008], [-1.79, 0.365]], [False] * 3, "not -1")
    assert verdict(rows).startswith("moves toward the paper")
    # the same numbers read as a target of -1 move away: the direction is the claim's, not the number's
    assert verdict(rows, ClaimTest("target", -1.0)).startswith("moves away from the paper")
    # and a "not -1" exponent closing on -1 moves away from the paper
    closing = _stored([-0.3, -0.6, -0.95], [[-0.5, -0.1], [-0.8, -0.4], [-1.2, -0.7]], [True, True, False], "not -1")
    assert verdict(closing) == "agrees at the quick budget, not at a larger one: a finding"
    nearing = _stored([-0.6, -0.95], [[-1.1, -0.3], [-1.2, -0.7]], [False, False], "not -1")
    assert verdict(nearing) == "moves away from the paper"


def test_a_last_rung_whose_interval_holds_the_papers_value_agrees():
    # Fig. 4C's large-α slope: farther from -1 as a point at 300 000 steps, but its interval holds -1 (and not 0)
    rows = _stored([-2.19, -1.75, -0.793, -3.51], [[-4.19, -1.62], [-3.0, -1.23], [-3.66, 11.75], [-14.5, -0.871]],
                   [False, False, None, True], "≈ -1")
    assert verdict(rows) == "agrees at the last rung (within its interval), its value no closer than at the quick budget"
    assert "away" not in verdict(rows)


def test_an_interval_straddling_a_bound_is_no_test():
    below = ClaimTest("below", -1.0)
    assert below.decide([-34.8, 7.48]) is None and below.decide([-7.18, 31.5]) is None
    assert below.decide([-2.43, -1.11]) is True and below.decide([-0.9, -0.2]) is False
    assert below.decide([-1.0, 0.5]) is False and below.decide(None) is None
    above = ClaimTest("above", 0.0)
    assert (above.decide([0.1, 0.4]), above.decide([-0.3, 0.2]), above.decide([-0.5, -0.1])) == (True, None, False)
    row = claim("Fig 4C: slope at small α (< 640)", "< -1", -4.34, (-34.8, 7.48), test=below)
    assert row["agree"] is None and row["test"] == {"kind": "below", "value": -1.0}
    # the committed Fig. 4C small-α rows (stored as "disagree") decided again: no test at the last rung
    stored = _stored([-1.76, -0.70, -1.71, -4.34], [[-2.43, -1.11], [-3.11, 17.4], [-7.18, 31.5], [-34.8, 7.48]],
                     [True, False, False, False], "< -1 (faster than N⁻¹)")
    result = {"figure": "fig4_series", "runs": [{}] * 4, "claims": [{"claim": "Fig 4C: slope at small α (< 640)",
                                                                   "verdict": "stale", "rows": stored}]}
    revised = revise(result, {"Fig 4C: slope at small": below})["claims"][0]
    assert [r["agree"] for r in revised["rows"]] == [True, None, None, None]
    assert revised["verdict"] == "no test at the last rung (its interval is too wide to decide)"
    assert "decided again on the stored interval by its test (below -1): no test (was disagree)" in \
        revised["rows"][3]["note"]
    assert verdict(stored) == "agrees at the quick budget, not at a larger one: a finding"  # as stored: the misreport


def test_a_shown_not_tested_claim_gets_no_verdict():
    rows = _stored([-1.82, -4.08], [[-2.06, -1.72], [-6.02, -3.52]], [False, False], "≈ -1 (faster at small α)")
    result = {"figure": "fig4_series", "runs": [{}, {}], "claims": [{"claim": "Fig 4C: composite slope, all α",
                                                                   "verdict": "moves away", "rows": rows}]}
    revised = revise(result, {"Fig 4C: composite slope, all α": ClaimTest("none")})["claims"][0]
    assert revised["verdict"] is None and [r["agree"] for r in revised["rows"]] == [None, None]


def test_claim_tests_are_read_from_the_paper_column_or_declared():
    assert claim_test({"paper": "not -1"}) == ClaimTest("not", -1.0)
    assert claim_test({"paper": "< 0.5"}) == ClaimTest("below", 0.5)
    assert claim_test({"paper": "> 0"}) == ClaimTest("above", 0.0)
    assert claim_test({"paper": "≈ 640"}) == ClaimTest("target", 640.0)
    assert claim_test({"paper": "rises"}) is None
    assert claim_test({"paper": "≈ -1", "test": {"kind": "none", "value": None}}) == ClaimTest("none")
    with pytest.raises(ValueError, match="kind='toward' is not allowed"):
        ClaimTest("toward", -1.0)
    with pytest.raises(ValueError, match="value=None is not allowed"):
        ClaimTest("below")


def test_a_written_ladder_is_revised_from_its_stored_rows(tmp_path, capsys):
    stored = _stored([-1.76, -4.34], [[-2.43, -1.11], [-34.8, 7.48]], [True, False], "< -1 (faster than N⁻¹)")
    path = tmp_path / "fig4_series_ladder.json"
    path.write_text(json.dumps({"figure": "fig4_series", "axis": "steps", "rungs": [1, 2], "note": "",
                                "runs": [{"rung": 0}, {"rung": 1}],
                                "claims": [{"claim": "Fig 4C: slope at small α (< 640)", "verdict": "stale",
                                            "rows": stored}]}))
    assert main(["reproduce", "--ladder", "fig4_series", "--verdicts-only", "--out", str(tmp_path)]) == 0
    out = json.loads(path.read_text())
    assert out["claims"][0]["verdict"] == "no test at the last rung (its interval is too wide to decide)"
    assert "stale -> no test at the last rung" in capsys.readouterr().out
    assert (tmp_path / "fig4_series_ladder.png").read_bytes()[:4] == b"\x89PNG"
    assert revise_ladder(path, log=None)["claims"][0]["verdict"] == out["claims"][0]["verdict"]
    assert main(["reproduce", "--ladder", "fig5_functions", "--verdicts-only", "--out", str(tmp_path)]) == 2
    assert "expected an existing" in capsys.readouterr().err


def test_paper_numbers_are_read_from_the_claims_text():
    assert paper_number("≈ -1 (late phase)") == -1.0 and paper_number("800 (paper's fit)") == 800.0
    assert paper_number("grows (no number)") is None and paper_number(0.68) == 0.68


def test_a_figure_runs_along_a_toy_ladder(tmp_path, monkeypatch, capsys):
    tiny = fig2_square.QUICK.__class__(width=8, alphas=(1.0, 3.5, 9.0, 19.3, 128.0), seeds=(0, 1), steps=40,
                                       decay_every=20)
    monkeypatch.setattr(fig2_square, "QUICK", tiny)
    monkeypatch.setattr(fig2_square, "LADDER", Ladder("width", (8, 12), "toy"))
    assert main(["reproduce", "--ladder", "fig2_square", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "fig2_square_ladder.json").read_text())
    assert result["axis"] == "width" and result["rungs"] == [8, 12]
    assert [r["status"] for r in result["runs"]] == ["ran", "ran"]
    slope = next(c for c in result["claims"] if "slope" in c["claim"])
    assert [r["value"] for r in slope["rows"]] == [8, 12] and all("ours" in r for r in slope["rows"])
    assert (tmp_path / "fig2_square_ladder.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "square" / "width=12" / "fig2_square.json").read_text())["recipe"] == "custom"
    # the first rung is the quick recipe itself, so `--quick` reads it back, and a rerun reads every finished rung
    assert json.loads((tmp_path / "square" / "width=8" / "fig2_square.json").read_text())["recipe"] == "quick"
    capsys.readouterr()
    assert main(["reproduce", "--quick", "fig2_square", "--out", str(tmp_path / "square" / "width=8")]) == 0
    assert "done before with this recipe" in capsys.readouterr().out
    assert main(["reproduce", "--ladder", "fig2_square", "--out", str(tmp_path), "--rungs", "1"]) == 0
    assert "done before with this recipe" in capsys.readouterr().out
    # --redo draws the rung again, from the runs it trained before (none is trained again)
    def stamps():
        return sorted(p.stat().st_mtime_ns for p in (tmp_path / "square" / "width=12").rglob("*.safetensors"))

    runs = stamps()
    assert main(["reproduce", "--ladder", "fig2_square", "--out", str(tmp_path), "--rungs", "1", "--redo"]) == 0
    out = capsys.readouterr().out
    assert "done before" not in out and "fig2_square: running" in out
    assert runs and stamps() == runs


def test_bad_ladder_options_are_refused(capsys):
    assert main(["reproduce", "--ladder", "chinchilla"]) == 2
    assert "--ladder='chinchilla' is not allowed: expected a figure with a ladder" in capsys.readouterr().err
    assert main(["reproduce", "--ladder", "fig4_series", "--rungs", "7"]) == 2
    assert "--rungs=[7] is not allowed" in capsys.readouterr().err
    assert main(["reproduce", "fig2_square", "--rungs", "1"]) == 2
    assert "expected --rungs only with --ladder" in capsys.readouterr().err
