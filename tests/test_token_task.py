import json

import pytest
import torch

from models.tasks import TASKS, Task
from models.token_task import TokenTask

SEQS = (((1, 2, 3), (1, 2, 4)), ((5, 6, 7, 8),))


def test_batches_pad_and_mark_the_counted_positions():
    task = TokenTask(sequences=SEQS, names=("count", "other"), positions=(((2,), (2,)), None), pad_id=9)
    assert task.d_in == 4 and task.d_out == 10 and task.subtasks == ("count", "other")
    batch = task.eval_batch(100, torch.Generator().manual_seed(0))
    assert batch.x.tolist() == [[1, 2, 3, 9], [1, 2, 4, 9], [5, 6, 7, 8]]
    # y[p - 1] is the token at p when position p counts, else -1
    assert batch.y.tolist() == [[-1, 3, -1, -1], [-1, 4, -1, -1], [6, 7, 8, -1]]
    assert batch.subtask.tolist() == [0, 0, 1]


def test_subtask_losses_are_mean_cross_entropy_over_counted_positions():
    task = TokenTask(sequences=SEQS, positions=(((2,), (2,)), None), d_vocab=10)
    batch = task.eval_batch(3, torch.Generator().manual_seed(0))
    logits = torch.zeros(2, 3, 4, 10)  # two models side by side, uniform predictions
    logits[1, 0, 1, 3] = 50.0  # model 1 is sure and right about sequence 0's counted token
    losses = task.subtask_losses(logits, batch)
    ln10 = torch.log(torch.tensor(10.0))
    assert torch.allclose(losses[0], torch.stack([ln10, ln10]))
    assert torch.allclose(losses[1], torch.stack([ln10 / 2, ln10]), atol=1e-4)


def test_sampling_follows_the_subtask_weights():
    task = TokenTask(sequences=SEQS, subtask_weights=(3, 1))
    batch = task.sample(4000, torch.Generator().manual_seed(0))
    share = (batch.subtask == 0).float().mean().item()
    assert abs(share - 0.75) < 0.03
    assert torch.allclose(task.weights, torch.tensor([0.75, 0.25]))
    assert set(map(tuple, batch.x[batch.subtask == 0].tolist())) == {(1, 2, 3, 0), (1, 2, 4, 0)}


def test_config_round_trip_and_registration():
    task = TokenTask(sequences=SEQS, names=("a", "b"), positions=(((2,), (1, 2)), None), d_vocab=12)
    assert TASKS["TokenTask"] is TokenTask
    config = json.loads(json.dumps(task.to_config()))
    assert "sequences" not in config and config["n_tokens"] == 6       # the ids live in tensors
    back = Task.from_config(config, task.tensors())
    assert back == task and back.sequences == SEQS and back.positions == (((2,), (1, 2)), None)
    inline = Task.from_config(json.loads(json.dumps(task.to_config(inline=True))))
    assert inline == task
    with pytest.raises(ValueError, match="tensors=None is not allowed: expected the token ids"):
        Task.from_config(config)
    other = TokenTask(sequences=(((1, 2, 3), (1, 2, 5)), ((5, 6, 7, 8),)), names=("a", "b"),
                      positions=(((2,), (1, 2)), None), d_vocab=12)
    with pytest.raises(ValueError, match="digest differs"):
        Task.from_config(config, other.tensors())


@pytest.mark.parametrize("kwargs, field", [
    (dict(sequences=()), "sequences"),
    (dict(sequences=(((1,),),)), "sequences"),
    (dict(sequences=SEQS, positions=(((3,), (2,)), None)), "positions"),
    (dict(sequences=SEQS, positions=(None,)), "positions"),
    (dict(sequences=SEQS, names=("a",)), "names"),
    (dict(sequences=SEQS, d_vocab=5), "d_vocab"),
    (dict(sequences=SEQS, subtask_weights=(1, -1)), "subtask_weights"),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TokenTask(**kwargs)


def test_summary_names_sizes_not_token_ids():
    task = TokenTask(sequences=SEQS, names=("count", "other"), positions=(((2,), (2,)), None))
    assert repr(task) == task.summary() == \
        "TokenTask(count: 2 seq, 2 counted tokens; other: 1 seq, 3 counted tokens; length 4, d_vocab 9)"


class _Chars:
    def encode(self, text, add_special_tokens=False):
        return [ord(c) - 96 for c in text]


def test_from_texts_cuts_windows_and_checks_its_input():
    task = TokenTask.from_texts({"a": ["abcdefg"], "b": ["xy", "zz"]}, _Chars(), seq_len=3)
    assert task.sequences == (((1, 2, 3), (4, 5, 6)), ((24, 25), (26, 26)))  # the 1-token tail "g" is dropped
    assert task.subtasks == ("a", "b") and task.positions is None
    with pytest.raises(ValueError, match="texts"):
        TokenTask.from_texts({"a": []}, _Chars())
    with pytest.raises(ValueError, match="seq_len"):
        TokenTask.from_texts({"a": ["abc"]}, _Chars(), seq_len=1)
    with pytest.raises(ValueError, match="tokenizer"):
        TokenTask.from_texts({"a": ["abc"]}, object())
