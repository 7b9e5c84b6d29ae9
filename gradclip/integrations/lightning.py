"""A Lightning callback that measures the total gradient norm before Lightning clips it.

Where the hook sits in lightning 2.6.6 (``lightning/pytorch/plugins/precision/``):

* ``precision.py`` lines 84-94 (``_after_closure``): once the closure has run
  ``training_step`` and ``backward``, the callbacks' ``on_before_optimizer_step`` is
  called (line 87), then the LightningModule's (line 88), and only then
  ``_clip_gradients`` (line 89), which clips ``gradient_clip_val``;
* ``amp.py`` lines 84-90: under 16-bit mixed precision the ``GradScaler`` unscales the
  gradients (line 88) before ``_after_closure`` (line 90), so the norm is the true one;
* ``precision.py`` lines 163-166: clipping by norm is ``clip_grad_norm_`` over
  ``main_params(optimizer)``, every parameter of the optimizer's param groups
  (``lightning/fabric/plugins/precision/precision.py`` lines 126-133), so the callback
  measures those.

The norm is taken with :meth:`gradclip.NormTracker.measure` (``get_total_norm``: the
gradients are only read) at ``trainer.global_step``, the number of optimizer steps already
taken (``loops/training_epoch_loop.py`` lines 112-117): 0, 1, 2, ... With
``accumulate_grad_batches=k`` the hook runs once per k batches, on the accumulated gradient.
The ``step`` column of Lightning's own loggers uses the same count for training metrics.

Examples
--------
>>> cb = GradNormCallback(norm_type=2.0)
>>> cb.norm_type, cb.tracker.values
(2.0, [])

In a script::

    cb = GradNormCallback("norms.csv")
    L.Trainer(gradient_clip_val=1.0, callbacks=[cb]).fit(model, loader)
    # then: gradclip suggest norms.csv
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as exc:   # the message a reader needs, not a traceback into our import
    raise ImportError("gradclip.integrations.lightning needs Lightning: "
                      "pip install lightning (or pip install 'gradclip[lightning]')") from exc

from gradclip.checks import optional_path, real
from gradclip.tracker import NormTracker

__all__ = ["GradNormCallback"]


class GradNormCallback(pl.Callback):
    """Records the total gradient norm of every optimizer step, before clipping, and the loss.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Where ``on_train_end`` writes the log as CSV (``step,grad_norm,loss``), on global
        rank 0 only. ``None``: not written; the log is in :attr:`tracker`.
    norm_type : float
        The p of the p-norm, > 0 (``float("inf")``: the largest entry); 2 is what
        ``gradient_clip_val`` clips.

    Attributes
    ----------
    tracker : gradclip.NormTracker
        One norm per optimizer step, at ``trainer.global_step`` (0-based). A new tracker
        starts with each ``fit``.

    Notes
    -----
    The loss recorded with a step is the ``loss`` that ``training_step`` returned for the
    batch whose gradients were measured (read in ``on_train_batch_end``). It is left out
    (written ``nan``) with ``accumulate_grad_batches > 1``, where Lightning hands over only
    the last micro-batch's loss divided by k (``loops/optimization/automatic.py`` lines
    83 and 89), not the loss of the step; and in manual optimization, where ``training_step``
    need not return one.

    Under DDP every process holds the same, already reduced gradients, so the norm is the
    global one. Under FSDP or DeepSpeed each process holds a shard, and this callback would
    measure the shard's norm: it is not for those strategies.
    """

    def __init__(self, path: str | os.PathLike | None = None, norm_type: float = 2.0) -> None:
        self.path = optional_path(path, "path")
        self.norm_type = real(norm_type, "norm_type", lo=0, lo_open=True, finite=False)
        self.tracker = NormTracker()
        self._records_before_batch = 0

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.tracker = NormTracker()     # one log per fit(): its steps start afresh

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._records_before_batch = len(self.tracker.values)

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.tracker.measure(params, self.norm_type, step=trainer.global_step)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        # The loss belongs to a step only if this batch made exactly one, from the whole batch.
        one_step = len(self.tracker.values) == self._records_before_batch + 1
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else None
        if (one_step and trainer.accumulate_grad_batches == 1 and pl_module.automatic_optimization
                and loss is not None and getattr(loss, "numel", lambda: 0)() == 1):
            self.tracker.losses[-1] = float(loss)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.path is not None and trainer.global_rank == 0:
            self.tracker.save(self.path)
