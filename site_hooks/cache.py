"""The build's download cache and the hashing both build steps share.

Everything fetched for the site (the Pyodide runtime and its wheels, the pyodide-build tool, the
bytecode it writes) lives under one folder, checked against sha256 values on every use. This
module owns that folder's location, the hash function, and a write that never leaves half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["default_cache_dir", "sha256_hex", "atomic_write"]


def default_cache_dir() -> Path:
    """The cache folder: ``$GRADCLIP_CACHE`` if set, else ``~/.cache/gradclip``."""
    env = os.environ.get("GRADCLIP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gradclip"


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_hex(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    # Write-then-rename so a concurrent build (or an interrupted one) never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared between users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


