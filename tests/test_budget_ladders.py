"""Budget ladders: the rungs' recipes, the verdicts read from planted claim rows, and a figure
run along a toy ladder end to end (through `interp reproduce --ladder`)."""
import json

import pytest

from interp.cli import main
from interp.figures import fig2_square, fig3_parallel, fig4_series, fig5_functions, lm_resources
from interp.figures.ladder import paper_number, verdict
from interp.figures.recipes import Ladder, rung_recipe


def test_rungs_change_one_axis_and_keep_the_decay_share():
    r = rung_recipe(fig4_series.QUICK, fig4_series.LADDER, 3)
    assert r.steps == 300_000 and r.decay_every == 60_000 and r.widths == fig4_series.QUICK.widths
    assert rung_recipe(fig5_functions.QUICK, fig5_functions.LADDER, 0) == fig5_functions.QUICK
    assert rung_recipe(fig3_parallel.QUICK, fig3_parallel.LADDER, 2).width == 500
    lm = rung_recipe(lm_resources.QUICK, lm_resources.LADDER, 2)
    assert (lm.tokens, lm.removal_tokens, lm.seq_len) == (16384, 4096, lm_resources.QUICK.seq_len)
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


def test_bad_ladder_options_are_refused(capsys):
    assert main(["reproduce", "--ladder", "chinchilla"]) == 2
    assert "--ladder='chinchilla' is not allowed: expected a figure with a ladder" in capsys.readouterr().err
    assert main(["reproduce", "--ladder", "fig4_series", "--rungs", "7"]) == 2
    assert "--rungs=[7] is not allowed" in capsys.readouterr().err
    assert main(["reproduce", "fig2_square", "--rungs", "1"]) == 2
    assert "expected --rungs only with --ladder" in capsys.readouterr().err
