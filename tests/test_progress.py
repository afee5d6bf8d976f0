"""The run's progress display: plain lines off a terminal, one bar on it, and the epochs
of networks trained in other processes shown on that bar."""

from __future__ import annotations

import io
import time

from forecast.progress import QueueProgress, RunProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_fit_is_one_plain_line():
    stream = io.StringIO()
    display = RunProgress(total=2, stream=stream)
    assert display.listen() is None          # no bar: nothing to show epochs on
    display.start_fit("fold 1 of 1, model 1 of 2: ridge")
    display.end_fit()
    display.finished("fold 1 of 1, mlp seed 1 of 1", 2.5, "7 epochs")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[forecast] fold 1 of 1, model 1 of 2: ridge: ")
    assert "(model fit 1 of 2;" in lines[0]
    assert lines[1].startswith("[forecast] fold 1 of 1, mlp seed 1 of 1: 7 epochs, 2.5 s (model fit 2 of 2;")


def test_epochs_reported_by_a_training_process_reach_the_bar():
    stream = Terminal()
    display = RunProgress(total=3, stream=stream)
    queue = display.listen()
    assert queue is not None and display.listen() is queue
    QueueProgress(queue, "fold 2 of 3, gru seed 2 of 3").epoch(7, 0.4321)  # as a worker would
    deadline = time.monotonic() + 10
    while "epoch 7, val loss 0.4321" not in str(display.bar) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "epoch 7, val loss 0.4321" in str(display.bar)
    assert display.label == "fold 2 of 3, gru seed 2 of 3"
    display.close()
    QueueProgress(queue, "late").epoch(8, 0.1)    # after the run: ignored, never an error
