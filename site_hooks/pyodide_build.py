"""pyodide-build, installed once into the cache, for compiling Python files to Pyodide's bytecode.

Pyodide 0.27 runs CPython 3.12 and bytecode is specific to the minor version, so the tool runs in a
Python 3.12 virtual environment of its own (``<cache>/pyodide-build-venv``). Both the runtime
(``vendor.py``: the standard library and the package wheels) and the gradclip wheel (``wheel.py``)
go through :func:`run_py_compile`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from site_hooks.cache import default_cache_dir
from site_hooks.pins import PYODIDE_BUILD_SPEC

__all__ = ["PyodideBuildError", "find_python312", "ensure_pyodide_build", "run_py_compile"]


class PyodideBuildError(RuntimeError):
    """pyodide-build could not be installed or run (no Python 3.12, a failed install or compile)."""


def _python_version(exe: str) -> tuple[int, int] | None:
    try:
        proc = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = proc.stdout.split()
    return (int(parts[0]), int(parts[1])) if proc.returncode == 0 and len(parts) == 2 else None


def find_python312() -> Path:
    """A Python 3.12 interpreter: ``$GRADCLIP_PYTHON312``, ``python3.12`` on PATH, or a pyenv 3.12.

    Pyodide 0.27 runs CPython 3.12, and bytecode is specific to the minor version, so nothing else
    will do.
    """
    candidates = [os.environ.get("GRADCLIP_PYTHON312"), shutil.which("python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    for c in candidates:
        # Ask the interpreter itself: a pyenv shim exists on PATH even when it cannot run 3.12.
        if c and Path(c).is_file() and _python_version(c) == (3, 12):
            return Path(c)
    raise PyodideBuildError(
        "py_compile needs Python 3.12 (Pyodide 0.27 runs 3.12): set GRADCLIP_PYTHON312 or put python3.12 on PATH"
    )


def ensure_pyodide_build(cache_dir: Path | None = None) -> Path:
    """Path of the ``pyodide`` command, installing pyodide-build into ``<cache>/pyodide-build-venv`` once."""
    venv = Path(cache_dir or default_cache_dir()) / "pyodide-build-venv"
    exe = venv / "bin" / "pyodide"
    if exe.is_file():
        return exe
    py312 = find_python312()
    for cmd in (
        [str(py312), "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         PYODIDE_BUILD_SPEC],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PyodideBuildError(f"installing pyodide-build failed: {' '.join(cmd)}\n{proc.stderr.strip()[-2000:]}")
    if not exe.is_file():
        raise PyodideBuildError(f"{PYODIDE_BUILD_SPEC} installed but {exe} is missing")
    return exe


def run_py_compile(target: Path, cache_dir: Path | None = None) -> None:
    """Run ``pyodide py-compile --no-keep`` on a wheel, a zip, or a folder of them, in place.

    On a folder the tool also rewrites the ``pyodide-lock.json`` there with the new file names and
    sha256 values (the ones ``loadPackage`` checks).
    """
    exe = ensure_pyodide_build(cache_dir)
    proc = subprocess.run([str(exe), "py-compile", "--silent", "--no-keep", str(target)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise PyodideBuildError(f"pyodide py-compile {target} failed:\n{(proc.stderr or proc.stdout).strip()[-2000:]}")
