"""A ``transformers.Trainer`` callback that keeps the Trainer's gradient norms in a :class:`~gradclip.NormTracker`.

How the Trainer of transformers 5.25.0 handles the norm (``transformers/trainer.py``):

* lines 1974-1977: before each optimizer step it computes the total gradient norm, with
  ``accelerator.clip_grad_norm_(params, max_grad_norm)`` (lines 2825-2831), which unscales
  mixed-precision gradients and returns the norm *before* clipping (accelerate 1.16.0,
  ``accelerator.py`` lines 2950-2951, then 2886-2890); with ``max_grad_norm <= 0`` it
  measures with ``clip_grad_norm_(params, inf)`` instead (lines 2833-2840);
* line 1979: ``on_pre_optimizer_step`` runs *after* that clipping, so a callback that
  measured the gradients there would see the clipped norm, not the one that was clipped;
* lines 2299-2301: on logging steps only, that step's norm goes into the logs as
  ``grad_norm``, next to ``loss``, the mean training loss since the previous log;
* line 1992, before the logging of lines 1995-2004 (which calls ``on_log`` at line 4255):
  ``state.global_step`` already counts the step, so the first optimizer step is step 1.

So the callback records ``logs["grad_norm"]`` in ``on_log``, at ``state.global_step``:
every step with ``logging_steps=1``, every k-th step with ``logging_steps=k``. Logs without
a ``grad_norm`` (evaluation, the end-of-training summary) are skipped.

Examples
--------
>>> cb = GradNormCallback()
>>> cb.path is None and cb.tracker.values == []
True

In a script::

    cb = GradNormCallback("norms.csv")
    args = TrainingArguments("out", logging_steps=1, max_grad_norm=1.0)   # every step
    Trainer(model=model, args=args, train_dataset=ds, callbacks=[cb]).train()
    # then: gradclip suggest norms.csv
"""

from __future__ import annotations

import os
from typing import Any

try:
    import transformers
except ImportError as exc:   # the message a reader needs, not a traceback into our import
    raise ImportError("gradclip.integrations.huggingface needs transformers: "
                      "pip install transformers (or pip install 'gradclip[huggingface]')") from exc

from gradclip.checks import optional_path
from gradclip.tracker import NormTracker

__all__ = ["GradNormCallback"]


class GradNormCallback(transformers.TrainerCallback):
    """Records the Trainer's pre-clip gradient norm (and loss) on each logging step.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Where ``on_train_end`` writes the log as CSV (``step,grad_norm,loss``), on the
        main process only (``state.is_world_process_zero``). ``None``: not written; the
        log is in :attr:`tracker`.

    Attributes
    ----------
    tracker : gradclip.NormTracker
        The norms at the Trainer's ``global_step`` (1-based), each with the ``loss`` of
        the same log: the *mean* loss over the steps since the previous log, while the
        norm is that of the logging step alone. A new tracker starts with each
        ``trainer.train()``.

    Notes
    -----
    The norm is the Trainer's own number, taken before clipping, over all the model's
    parameters; with ``logging_steps=1`` it is every optimizer step's. Recording every
    step without logging every step would need the local ``grad_norm`` of the Trainer's
    training loop, which no callback receives.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = optional_path(path, "path")
        self.tracker = NormTracker()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.tracker = NormTracker()     # one log per train() call: its steps start afresh

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs or logs.get("grad_norm") is None:
            return                       # an evaluation or the final summary: no norm in it
        self.tracker.record(logs["grad_norm"], step=state.global_step, loss=logs.get("loss"))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.path is not None and state.is_world_process_zero:
            self.tracker.save(self.path)
