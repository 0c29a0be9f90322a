import json


import interp
import models
from interp.cli import build_parser, main
from neuron_plants import planted_mlp


def _checkpoint(tmp_path):
    net = planted_mlp()
    return models.save(net, tmp_path / "ck", task=models.tasks.Parallel(beta=0.75))


def test_allocate_prints_a_table_and_writes_json(tmp_path, capsys):
    folder = _checkpoint(tmp_path)
    out = tmp_path / "alloc.json"
    assert main(["allocate", str(folder), "--method", "ablation", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "hidden.0" in text and "x1^2" in text and "x2^2" in text and "method=ablation" in text
    data = json.loads(out.read_text())
    assert data["method"] == "ablation" and set(data["counts"]) == {"x1^2", "x2^2"}
    assert interp.Allocation.from_dict(data).counts() == data["counts"]


def test_allocate_an_ensemble_member_and_a_task_given_on_the_command_line(tmp_path, capsys):
    ens = models.Ensemble.stack([planted_mlp(), planted_mlp()])
    folder = models.save(ens, tmp_path / "ens")  # no task saved
    assert main(["allocate", str(folder), "--member", "1", "--task", '{"type": "Parallel", "beta": 0.5}']) == 0
    text = capsys.readouterr().out
    assert "member=1" in text and "method=weights" in text


def test_bad_input_exits_with_a_message(tmp_path, capsys):
    assert main(["allocate", str(tmp_path / "missing")]) == 2
    assert "existing folder" in capsys.readouterr().err
    folder = models.save(planted_mlp(), tmp_path / "notask")
    assert main(["allocate", str(folder)]) == 2
    assert "--task" in capsys.readouterr().err
    assert main(["allocate", str(folder), "--task", "not json"]) == 2
    assert main(["allocate", str(_checkpoint(tmp_path)), "--member", "0"]) == 2


def test_parser_has_one_subcommand_per_builder():
    parser = build_parser()
    args = parser.parse_args(["allocate", "somewhere", "--method", "attribution"])
    assert args.func.__name__ == "cmd_allocate" and args.method == "attribution"


def test_allocate_a_local_hugging_face_folder_with_a_token_task(tmp_path, capsys):
    from tiny_lms import tiny_gpt2
    from models.token_task import TokenTask

    folder = tmp_path / "gpt2"
    tiny_gpt2(folder, n_layer=1, n_embd=16, n_head=2, vocab_size=30, n_positions=8)
    task = TokenTask(sequences=(((1, 2, 3, 4), (2, 3, 4, 5)), ((20, 21, 22, 23),)), d_vocab=30)
    (tmp_path / "task.json").write_text(json.dumps(task.to_config(inline=True)))
    assert main(["allocate", str(folder), "--task", str(tmp_path / "task.json"), "--method", "attribution"]) == 0
    text = capsys.readouterr().out
    assert "blocks.0.mlp.hook_post" in text and "subtask0" in text and "method=attribution" in text


def test_allocate_takes_subtasks_from_text_files(tmp_path, capsys):
    from tiny_lms import tiny_gpt2

    folder = tmp_path / "gpt2"
    tiny_gpt2(folder, n_layer=1, n_embd=16, n_head=2, vocab_size=30, n_positions=8)
    (tmp_path / "low.txt").write_text(" ".join(f"t{2 + i % 8}" for i in range(40)))
    (tmp_path / "high.txt").write_text(" ".join(f"t{20 + i % 9}" for i in range(30)))
    out = tmp_path / "alloc.json"
    assert main(["allocate", str(folder), "--texts", f"low={tmp_path / 'low.txt'}", f"high={tmp_path / 'high.txt'}",
                 "--seq-len", "8", "--method", "attribution", "--json", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    # 40 and 30 words: windows of 8 (the tails of 0 and 6 words), vocabulary from the model
    assert "task: TokenTask(low: 5 seq, 35 counted tokens; high: 4 seq, 26 counted tokens; length 8, d_vocab 30)" \
        in text
    assert "low" in text and "high" in text and "blocks.0.mlp.hook_post" in text
    assert json.loads(out.read_text())["subtasks"] == ["low", "high"]


def test_bad_texts_are_refused_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("t2 t3 t4")
    (tmp_path / "empty.txt").write_text("  \n")
    nowhere = str(tmp_path / "no-model")   # the model is never reached: the texts fail first
    cases = {
        "python": "--texts='python' is not allowed: expected NAME=PATH pairs",
        f"a={tmp_path / 'missing.txt'}": "expected NAME=PATH with PATH an existing UTF-8 text file (no such file)",
        f"a={tmp_path}": "expected a text file, not a folder",
        f"a={tmp_path / 'empty.txt'}": "expected a text file holding some text",
    }
    for spec, message in cases.items():
        assert main(["allocate", nowhere, "--texts", spec]) == 2
        assert message in capsys.readouterr().err
    assert main(["allocate", nowhere, "--texts", f"a={tmp_path / 'a.txt'}", "--task", "{}"]) == 2
    assert "--texts is not allowed with --task" in capsys.readouterr().err
    assert main(["allocate", str(_checkpoint(tmp_path)), "--texts", f"a={tmp_path / 'a.txt'}"]) == 2
    assert "expected a language model with a tokenizer" in capsys.readouterr().err
    assert main(["allocate", nowhere, "--texts", f"a={tmp_path / 'a.txt'}", "--seq-len", "1"]) == 2
    assert "--seq-len=1 is not allowed" in capsys.readouterr().err


OWN_TASK = '''
from dataclasses import dataclass
from typing import ClassVar
import torch
import models
from models import Batch, Task

@models.register_task
@dataclass(frozen=True)
class ReluAndAbs(Task):
    """y = (x1 if x1 > 0 else 0, |x2|): two subtasks of one's own."""
    d_in: ClassVar[int] = 2
    d_out: ClassVar[int] = 2
    subtasks: ClassVar[tuple] = ("relu", "abs")

    @property
    def weights(self):
        return torch.tensor([0.5, 0.5])

    def sample(self, n, generator):
        x = 2 * torch.rand(n, 2, generator=generator) - 1
        return Batch(x, torch.stack([x[:, 0].clamp_min(0), x[:, 1].abs()], 1), torch.full((n,), -1))

    def subtask_losses(self, pred, batch):
        return (pred - batch.y).pow(2).mean(-2)
'''


def test_a_task_of_ones_own_trains_and_allocates_from_the_command_line_with_import(tmp_path, capsys):
    (tmp_path / "halves.py").write_text(OWN_TASK)
    own = str(tmp_path / "halves.py")
    out = str(tmp_path / "ck")
    task = '{"type": "ReluAndAbs"}'
    assert main(["train", "--task", task, "--widths", "8", "--steps", "30", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "a task of your own loads once your code has registered it" in err and "--import the module" in err
    assert main(["train", "--task", task, "--widths", "8", "--steps", "30", "--out", out, "--import", own]) == 0
    assert main(["allocate", out, "--method", "ablation", "--no-progress", "--import", own]) == 0
    text = capsys.readouterr().out
    assert "relu" in text and "abs" in text and "hidden.0" in text
    assert main(["allocate", out, "--import", str(tmp_path / "missing.py")]) == 2
    assert "--import='" in capsys.readouterr().err
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    assert main(["allocate", out, "--import", str(tmp_path / "broken.py")]) == 2
    assert "expected code that imports (RuntimeError: boom)" in capsys.readouterr().err


def test_restart_discards_the_task_data_of_a_checkpoint_it_wrote(tmp_path):
    import torch

    from interp.cli.train import discard_checkpoint

    x = torch.rand(20, 2)
    data = models.DataTask(x, x.abs(), torch.arange(20) % 2)
    folder = models.save(models.MLP(models.MLPConfig(d_in=2, widths=(4,), d_out=2)), tmp_path / "ck", task=data)
    (folder / "notes.txt").write_text("mine")
    assert sorted(discard_checkpoint(folder)) == ["config.json", "task_data.safetensors", "weights.safetensors"]
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
