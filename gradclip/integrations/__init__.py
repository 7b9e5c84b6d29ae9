"""Gradient-norm logs straight from real training loops, for ``gradclip suggest``.

Each module imports its framework when it is imported, and ``import gradclip`` imports
none of them (nor this package's modules), so the core stays NumPy-only:

===========================================  ==================================================
module                                       what it gives
===========================================  ==================================================
:mod:`gradclip.integrations.huggingface`     ``GradNormCallback``, a ``transformers.Trainer``
                                             callback: the Trainer's own pre-clip ``grad_norm``
:mod:`gradclip.integrations.lightning`       ``GradNormCallback``, a Lightning callback: the
                                             total norm measured before Lightning clips
:mod:`gradclip.integrations.tensorboard`     ``read_scalars`` (every scalar series of a run's
                                             event files) and ``is_event_file``
===========================================  ==================================================

Install a framework with its extra, e.g. ``pip install 'gradclip[huggingface]'``
(``[lightning]``, ``[tensorboard]``); the versions pinned there are the ones whose source
these modules were checked against.
"""
