"""Build the gradclip wheel that the browser demos unpack into Pyodide.

:func:`build_wheel` builds a pure-Python wheel from the working tree with hatchling's own API
(in-process, offline, about 0.2 s), checks that it holds the package and its metadata and nothing
else, and places it in the site's ``assets/wheels/`` next to ``manifest.json``::

    {"wheel": "gradclip-0.1.0-py3-none-any.whl", "sha256": "...", "version": "0.1.0"}

The browser worker reads the manifest, fetches the wheel and calls
``pyodide.unpackArchive(buffer, "wheel")``.

Optionally (``py_compile=True``, off by default) the wheel is passed through pyodide-build's
``pyodide py-compile``, which replaces each ``.py`` with CPython 3.12 bytecode (Pyodide 0.27 runs
Python 3.12). pyodide-build needs Python >= 3.12, so it lives in its own virtual environment in the
cache folder, created on first use; it is never a dependency of the main build.
``bench/pycompile.py`` measures whether this shortens loading in the browser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from site_hooks.cache import sha256_hex
from site_hooks.pyodide_build import PyodideBuildError, run_py_compile

__all__ = [
    "WheelError",
    "WheelInfo",
    "build_wheel",
    "check_wheel_contents",
    "py_compile_wheel",
    "PACKAGE",
]

PACKAGE = "gradclip"


class WheelError(RuntimeError):
    """The wheel could not be built, or holds something other than the package."""


@dataclass(frozen=True)
class WheelInfo:
    """The placed wheel.

    Attributes
    ----------
    path : Path
        The wheel in the destination folder.
    filename, sha256, version : str
        What ``manifest.json`` records.
    size : int
        Bytes.
    py_compiled : bool
        True when the modules are bytecode (``pyodide py-compile``) rather than source.
    """

    path: Path
    filename: str
    sha256: str
    version: str
    size: int
    py_compiled: bool = False

    def manifest(self) -> dict:
        """The content of ``manifest.json``."""
        return {"wheel": self.filename, "sha256": self.sha256, "version": self.version}

    def __str__(self) -> str:
        kind = "bytecode" if self.py_compiled else "source"
        return f"{self.filename} ({self.size / 1e3:.0f} kB, {kind}, sha256 {self.sha256[:12]}…)"


def check_wheel_contents(names: list[str], package: str = PACKAGE) -> str:
    """Return the wheel's version if ``names`` hold only ``package/`` and its ``.dist-info/``.

    Raises :class:`WheelError` naming the first stray entry (docs, tests, caches, build leftovers).

    >>> check_wheel_contents(["gradclip/__init__.py", "gradclip-0.1.0.dist-info/METADATA"])
    '0.1.0'
    >>> check_wheel_contents(["gradclip/__init__.py", "gradclip-0.1.0.dist-info/METADATA", "tests/x.py"])
    Traceback (most recent call last):
    ...
    site_hooks.wheel.WheelError: the gradclip wheel holds tests/x.py; it must hold only the gradclip package and its metadata
    """
    infos = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if len(infos) != 1:
        raise WheelError(f"the {package} wheel has {len(infos)} .dist-info folders; expected exactly one")
    (info,) = infos
    name, _, version = info[: -len(".dist-info")].partition("-")
    if name != package or not version:
        raise WheelError(f"the wheel's metadata folder is {info}; expected {package}-<version>.dist-info")
    for n in names:
        top = n.split("/", 1)[0]
        if top not in (package, info) or "__pycache__/" in n:
            raise WheelError(
                f"the {package} wheel holds {n}; it must hold only the {package} package and its metadata"
            )
    return version


def _hatchling_wheel(project_root: Path, out_dir: Path) -> Path:
    """Build with hatchling in-process; fall back to ``pip wheel`` if hatchling is not importable."""
    try:
        from hatchling.builders.wheel import WheelBuilder
    except ImportError:
        # pip then builds in an isolated environment, which needs hatchling from the package index.
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
               "-q", "-w", str(out_dir), str(project_root)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise WheelError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()[-2000:]}")
        built = sorted(out_dir.glob(f"{PACKAGE}-*.whl"))
    else:
        built = [Path(p) for p in WheelBuilder(str(project_root)).build(
            directory=str(out_dir), versions=["standard"])]
    if len(built) != 1:
        raise WheelError(f"expected one {PACKAGE} wheel from the build, got {[p.name for p in built]}")
    return built[0]


def build_wheel(
    project_root: Path,
    dest_dir: Path,
    *,
    py_compile: bool = False,
    cache_dir: Path | None = None,
) -> WheelInfo:
    """Build the gradclip wheel from ``project_root`` and place it, with ``manifest.json``, in ``dest_dir``.

    Parameters
    ----------
    project_root : Path
        The folder holding ``pyproject.toml``.
    dest_dir : Path
        Usually the built site's ``assets/wheels/``; created if missing. Older ``gradclip-*.whl``
        files there are removed so the folder holds exactly the wheel the manifest names.
    py_compile : bool
        Replace sources with Python 3.12 bytecode via ``pyodide py-compile`` (default off).
    cache_dir : Path, optional
        Where pyodide-build's environment lives when ``py_compile`` is on
        (default: ``$GRADCLIP_CACHE`` or ``~/.cache/gradclip``).

    Returns
    -------
    WheelInfo
    """
    project_root, dest_dir = Path(project_root), Path(dest_dir)
    if not (project_root / "pyproject.toml").is_file():
        raise ValueError(f"project_root must be a folder holding pyproject.toml; got {project_root}")
    with tempfile.TemporaryDirectory(prefix="gradclip-wheel-") as tmp:
        wheel = _hatchling_wheel(project_root, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            version = check_wheel_contents(zf.namelist())
        if py_compile:
            wheel = py_compile_wheel(wheel, cache_dir=cache_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        for old in dest_dir.glob(f"{PACKAGE}-*.whl"):
            old.unlink()
        placed = dest_dir / wheel.name
        shutil.copyfile(wheel, placed)
    info = WheelInfo(
        path=placed,
        filename=placed.name,
        sha256=sha256_hex(placed.read_bytes()),
        version=version,
        size=placed.stat().st_size,
        py_compiled=py_compile,
    )
    (dest_dir / "manifest.json").write_text(json.dumps(info.manifest(), indent=2) + "\n")
    return info


def py_compile_wheel(wheel: Path, cache_dir: Path | None = None) -> Path:
    """Run ``pyodide py-compile`` on ``wheel``; return the new wheel (tagged ``cp312``) beside it.

    The input wheel is removed by the tool; the output's modules are ``.pyc`` only, so tracebacks in
    the browser show no source lines.
    """
    wheel = Path(wheel)
    before = set(wheel.parent.glob("*.whl")) - {wheel}
    try:
        run_py_compile(wheel, cache_dir)
    except PyodideBuildError as exc:
        raise WheelError(str(exc)) from exc
    new = sorted(set(wheel.parent.glob("*.whl")) - before)
    if len(new) != 1:
        raise WheelError(f"pyodide py-compile {wheel.name} wrote {[p.name for p in new]}; expected one wheel")
    return new[0]
