"""Scalars from TensorBoard event files (``events.out.tfevents.*``), read by TensorBoard itself.

:func:`read_scalars` hands the files to tensorboard 2.21.0's ``EventAccumulator``
(``tensorboard/backend/event_processing/event_accumulator.py``) told to keep every point
(``STORE_EVERYTHING_SIZE_GUIDANCE``, lines 200-207; TensorBoard's server keeps a sample of
1000 points per scalar tag, ``data_ingester.py`` line 42). Both kinds of scalar are read:

* ``simple_value`` summaries, which PyTorch's ``SummaryWriter`` and TF1 write (lines
  167-173: ``_ProcessScalar``);
* rank-0 tensor summaries of the ``scalars`` plugin, which TF2's ``tf.summary.scalar`` and
  ``tensorboard.summary.Writer`` write (``tensorboard/summary/_output.py`` lines 89-114).

TensorBoard's own rule for restarted runs is kept (``purge_orphaned_data``, lines
727-790): after a restart, the points a crashed run wrote beyond the restart step are
dropped, as TensorBoard's charts drop them.

:func:`is_event_file` needs no TensorBoard: it reads the first record's framing and the
``file_version`` of the first ``Event``.

Examples
--------
>>> is_event_file(b"step,grad_norm\\n0,1.5\\n")
False
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["read_scalars", "is_event_file"]

_PLUGIN = "scalars"     # tensorboard/plugins/scalar/metadata.py: PLUGIN_NAME


def read_scalars(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scalar series in a run's event files: ``{tag: (steps, values)}``.

    Parameters
    ----------
    path : str or os.PathLike
        One event file (its name holds ``tfevents``, as TensorBoard requires), or a
        directory: then every event file directly in it, in name order, as TensorBoard
        reads one run (subdirectories are other runs, not read).

    Returns
    -------
    dict
        Tag -> ``(steps, values)``: int64 and float64 arrays of equal length, in the order
        written (a tag logged every k-th step keeps its real step numbers).

    Raises
    ------
    ImportError
        Without tensorboard (``pip install tensorboard``).
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a path with no event files, a file that is not one, or files with no scalars
        (the message names ``path``).

    Examples
    --------
    With ``torch.utils.tensorboard.SummaryWriter("runs/a")`` having logged ``train/loss``::

        steps, loss = read_scalars("runs/a")["train/loss"]
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file or directory path (str or os.PathLike), got {path!r:.60}")
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise ImportError("read_scalars needs tensorboard: pip install tensorboard "
                          "(or pip install 'gradclip[tensorboard]')") from exc
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"path {p!r} does not exist")
    _check_event_files(p)
    acc = ea.EventAccumulator(p, size_guidance=ea.STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    tags = acc.Tags()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tag in tags[ea.SCALARS]:
        events = acc.Scalars(tag)
        out[tag] = _series([e.step for e in events], [e.value for e in events])
    for tag in tags[ea.TENSORS]:
        if tag in out or acc.SummaryMetadata(tag).plugin_data.plugin_name != _PLUGIN:
            continue                     # histograms, text, ...: tensors too, but not scalars
        events = acc.Tensors(tag)
        out[tag] = _series([e.step for e in events],
                           [tensor_util.make_ndarray(e.tensor_proto).item() for e in events])
    if not out:
        raise ValueError(f"path {p!r}: the event files hold no scalars")
    return out


def _check_event_files(p: str) -> None:
    """ValueError, naming the path, when TensorBoard would find no event file there."""
    def named(name: str) -> bool:   # tensorboard's io_wrapper.IsSummaryEventsFile, without importing it
        return "tfevents" in name and not name.endswith(".profile-empty")

    if os.path.isdir(p):
        if not any(named(f) and os.path.isfile(os.path.join(p, f)) for f in os.listdir(p)):
            raise ValueError(f"path {p!r}: no event files in this directory (TensorBoard reads files "
                             "named events.out.tfevents.*)")
        return
    if not named(os.path.basename(p)):
        raise ValueError(f"path {p!r}: not an event file name (TensorBoard reads files named "
                         "events.out.tfevents.*)")
    with open(p, "rb") as f:
        head = f.read(1024)
    if not is_event_file(head):
        raise ValueError(f"path {p!r}: not a TensorBoard event file (its first record is not an Event)")


def _series(steps: list[int], values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)


# ------------------------------------------------------------------------------ recognising a file


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1   # CRC-32C (Castagnoli), reflected
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
    """The checksum a TFRecord stores: CRC-32C, rotated right by 15 bits plus a constant
    (tensorboard/compat/tensorflow_stub/pywrap_tensorflow.py lines 39-41)."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """A protobuf varint at ``i``: (value, next index); IndexError/ValueError when cut or too long."""
    value = 0
    for shift in range(0, 70, 7):
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
    raise ValueError("varint too long")


def _file_version(record: bytes) -> bytes | None:
    """Field 3 (``file_version``, a string) of an ``Event`` message, or None."""
    i = 0
    while i < len(record):
        key, i = _varint(record, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(record, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(record, i)
            if field == 3:
                return record[i:i + n]
            i += n
        else:
            return None                  # groups (3, 4) and 6, 7 are not in an Event
    return None


def is_event_file(data: bytes) -> bool:
    """Whether ``data``, the first bytes of a file, start a TensorBoard event file.

    An event file is a TFRecord file of ``Event`` messages whose first ``Event`` holds the
    ``file_version`` ``brain.Event:<n>`` (every writer: TensorFlow's, PyTorch's
    ``SummaryWriter``, ``tensorboard.summary.Writer``). This checks the first record's
    length and both its checksums, then that string; no TensorBoard needed.

    Parameters
    ----------
    data : bytes
        At least the first record (88 bytes from PyTorch's ``SummaryWriter``); 1 KiB is plenty.

    Examples
    --------
    >>> is_event_file(b"")
    False
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes (the file's first bytes), got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 16:
        return False
    n = int.from_bytes(data[:8], "little")
    if int.from_bytes(data[8:12], "little") != _masked_crc32c(data[:8]) or len(data) < 16 + n:
        return False
    record = data[12:12 + n]
    if int.from_bytes(data[12 + n:16 + n], "little") != _masked_crc32c(record):
        return False
    try:
        version = _file_version(record)
    except (IndexError, ValueError):     # a record cut short, or not a protobuf message
        return False
    return version is not None and version.startswith(b"brain.Event:")
