"""One progress display for a whole run.

On a terminal: a single tqdm bar over every fit of the run (folds × models × seeds) whose
description says the stage, the model k of n and its seed, and whose postfix shows the
epoch and validation loss of the network training now (from the training processes too,
through a queue); tqdm adds the elapsed and remaining time. Lightning's per-epoch bars stay off. Elsewhere (a CI log, a pipe): one
plain line per stage and per fitted model, with its time and the run's elapsed and
estimated remaining time. Everything goes to stdout; stderr is kept for errors.
"""

from __future__ import annotations

import sys
import time


class RunProgress:
    """Counts the fits of a run and reports each; ``total`` is the number of fits."""

    def __init__(self, total: int = 0, stream=None) -> None:
        self._stream = stream
        self.total = max(1, total)
        self.done = 0
        self.started = time.perf_counter()
        self.fit_started = self.started
        self.label = ""
        self.bar = None
        self._queue = self._manager = None
        if total and self.interactive:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, file=self.stream, unit="fit", leave=False, position=0,
                            dynamic_ncols=True, bar_format="{desc} {bar} {n_fmt}/{total_fmt} "
                            "[{elapsed}<{remaining}]{postfix}")

    @property
    def stream(self):
        """The given stream, else whatever sys.stdout is now."""
        return self._stream or sys.stdout

    @property
    def interactive(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def message(self, text: str) -> None:
        """A stage: one line (above the bar on a terminal)."""
        line = f"[forecast] {text}"
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def start_fit(self, label: str) -> None:
        self.label = label
        self.fit_started = time.perf_counter()
        if self.bar is not None:
            self.bar.set_description_str(label)
            self.bar.set_postfix_str("")

    def set_label(self, label: str) -> None:
        """Name what is being fitted now (e.g. the seed of an ensemble's member)."""
        self.label = label
        if self.bar is not None:
            self.bar.set_description_str(label)

    def epoch(self, epoch: int, val_loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"epoch {epoch}, val loss {val_loss:.4f}")

    def end_fit(self, outcome: str = "", fits: int = 1) -> None:
        """The fit started by :meth:`start_fit` ended; it counts as ``fits`` fits (a
        network's seeds trained one after another)."""
        self.finished(self.label, time.perf_counter() - self.fit_started, outcome, fits)

    def finished(self, label: str, seconds: float, outcome: str = "", fits: int = 1) -> None:
        """``fits`` fits named ``label`` took ``seconds`` (e.g. reported by a pool of
        processes as each of its fits ends)."""
        self.done += fits
        if self.bar is not None:
            self.bar.set_description_str(label)
            self.bar.update(fits)
            return
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * max(0, self.total - self.done)
        print(f"[forecast] {label}: {outcome + ', ' if outcome else ''}{seconds:.1f} s "
              f"(model fit {self.done} of {self.total}; {elapsed:.0f} s elapsed, about "
              f"{left:.0f} s of model fits left)", file=self.stream, flush=True)

    def listen(self):
        """On a terminal, a queue through which training processes report their epochs
        (:class:`QueueProgress`); a thread shows each on the bar. None elsewhere: the
        plain lines report each fit as it ends, not its epochs."""
        if self.bar is None:
            return None
        if self._queue is None:
            import multiprocessing
            import threading

            self._manager = multiprocessing.get_context("spawn").Manager()
            self._queue = self._manager.Queue()
            threading.Thread(target=self._show_epochs, args=(self._queue,), daemon=True).start()
        return self._queue

    def _show_epochs(self, queue) -> None:
        try:
            while (item := queue.get()) is not None:
                label, epoch, val_loss = item
                if self.bar is not None:
                    self.set_label(label)
                    self.epoch(epoch, val_loss)
        except (EOFError, OSError, ConnectionError):   # the manager has shut down
            pass

    def close(self) -> None:
        if self._queue is not None:
            try:
                self._queue.put(None)
            except (EOFError, OSError):
                pass
            self._manager.shutdown()
            self._queue = self._manager = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class QueueProgress:
    """What a training process reports to the run's display: each validation epoch of the
    fit named ``label``, through the queue of :meth:`RunProgress.listen`."""

    def __init__(self, queue, label: str) -> None:
        self.queue = queue
        self.label = label

    def epoch(self, epoch: int, val_loss: float) -> None:
        try:
            self.queue.put((self.label, int(epoch), float(val_loss)))
        except (EOFError, OSError):   # the run's display has closed
            pass


class EpochReporter:
    """A Lightning callback (built lazily: Lightning is imported only to train) that
    reports each validation epoch to a :class:`RunProgress` or a :class:`QueueProgress`."""

    def __new__(cls, progress: RunProgress):
        from lightning.pytorch.callbacks import Callback

        class _Reporter(Callback):
            def on_validation_epoch_end(self, trainer, module) -> None:
                loss = trainer.callback_metrics.get("val_loss")
                if loss is not None and not trainer.sanity_checking:
                    progress.epoch(trainer.current_epoch + 1, float(loss))

        return _Reporter()
