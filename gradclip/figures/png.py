"""Raster images: colour-mapped values to RGBA, and RGBA to PNG.

Pure NumPy plus ``zlib``/``struct`` from the standard library, so it runs under Pyodide too:
the SVG writer embeds rasters as PNG data URIs wherever it runs.

Examples
--------
>>> png_rgba(colormap_rgba([[0.0, 0.5, 1.0]], "loss"))[1:4]
b'PNG'
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from gradclip.figures.style import CMAPS

__all__ = ["colormap_rgba", "png_rgba"]


def colormap_rgba(values: Any, cmap: str) -> np.ndarray:
    """Map values in [0, 1] (None/NaN = transparent) to RGBA bytes, shape ``values.shape + (4,)``.

    Continuous maps interpolate linearly between evenly spaced stops; categorical maps pick
    stop ``round(v · (k − 1))``.

    >>> colormap_rgba([[0.0, None]], "loss").tolist()
    [[[68, 1, 84, 255], [0, 0, 0, 0]]]
    """
    if cmap not in CMAPS:
        raise ValueError(f"cmap must be one of {', '.join(CMAPS)}, got {cmap!r}")
    v = np.array(values, dtype=float)
    ok = np.isfinite(v)
    v = np.clip(np.where(ok, v, 0.0), 0.0, 1.0)
    stops = np.array(CMAPS[cmap]["stops"], dtype=float)
    k = len(stops)
    if CMAPS[cmap]["kind"] == "categorical":
        rgb = stops[np.floor(v * (k - 1) + 0.5).astype(int)]
    else:
        pos = v * (k - 1)
        i = np.minimum(np.floor(pos).astype(int), k - 2)
        f = (pos - i)[..., None]
        rgb = stops[i] * (1 - f) + stops[i + 1] * f
    out = np.zeros(v.shape + (4,), dtype=np.uint8)
    out[..., :3] = np.floor(rgb + 0.5).astype(np.uint8)
    out[..., 3] = np.where(ok, 255, 0)
    out[~ok] = 0
    return out


def png_rgba(rgba: np.ndarray) -> bytes:
    """Encode an ``(h, w, 4)`` uint8 array as PNG (8-bit RGBA), top row first.

    Each scanline gets the PNG filter (none, Sub or Up) that makes the whole image compress
    best; smooth colour maps shrink severalfold with Sub.

    >>> png_rgba(np.zeros((1, 1, 4), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    a = np.ascontiguousarray(rgba, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 4 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"rgba must have shape (h, w, 4) with h, w >= 1, got {a.shape}")
    h, w = a.shape[:2]
    sub = a.astype(np.int16)
    sub[:, 1:] -= a[:, :-1]
    up = a.astype(np.int16)
    up[1:] -= a[:-1]
    best = b""
    for ftype, data in ((0, a), (1, sub), (2, up)):
        rows = np.concatenate([np.full((h, 1), ftype, np.uint8),
                               (data.astype(np.int16) & 0xFF).astype(np.uint8).reshape(h, w * 4)], axis=1)
        packed = zlib.compress(rows.tobytes(), 9)
        if not best or len(packed) < len(best):
            best = packed

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", best) + chunk(b"IEND", b""))
