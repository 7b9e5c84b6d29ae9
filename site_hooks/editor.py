"""Build the code-cell editor: ``editor/entry.js`` and its CodeMirror 6 packages, bundled into ONE
ES module, ``site/javascripts/editor.js`` (built, never committed), with their licences beside it.

The packages come through npm itself: ``editor/package.json`` names every one with an exact version,
and the committed ``editor/package-lock.json`` pins every file npm installs by its sha512 integrity,
which ``npm ci`` checks (the lock carries no registry address: npm uses the one it is set up with).

The work happens in the build cache (``site_hooks/cache.py``), in ``editor/<key>/``, ``key`` being
a digest of the three input files and of esbuild's options:

1. the inputs are copied there;
2. ``npm ci --ignore-scripts`` installs the packages, unless a stamp says an earlier run completed
   (scripts stay off: esbuild finds its binary through its platform package, no install script);
3. esbuild (its JS API) bundles and minifies ``entry.js`` into ``editor.js``, and ``meta.json``
   names the files that ended up in it: the licences of exactly those packages go into
   ``editor.LICENSES.txt`` (CodeMirror's sources carry no licence comments, so esbuild's
   ``--legal-comments=external`` would give an empty file);
4. the licences, then ``sha256.json`` (both files' hashes) are written: a folder with the stamp
   holds a finished build.

A build whose folder has ``sha256.json`` runs neither npm nor esbuild: it re-hashes the two files
against it and copies them. Any failure raises :class:`EditorError` naming the step.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from site_hooks.cache import atomic_write, default_cache_dir, sha256_hex

__all__ = ["EditorError", "EditorBuild", "SOURCE_DIR", "build_editor", "editor_build", "input_key"]

ROOT = Path(__file__).resolve().parent.parent
#: The committed sources of the bundle.
SOURCE_DIR = ROOT / "editor"
INPUTS = ("package.json", "package-lock.json", "entry.js")
OUTPUT = "editor.js"
LICENSES = "editor.LICENSES.txt"
#: One line at the top of the bundle, so a copy of it still says where its notices are.
BANNER = f"/*! gradclip editor: CodeMirror 6 and the packages it needs (MIT); licences: {LICENSES} */"
# --include=dev: esbuild is a devDependency, which npm would skip where NODE_ENV=production.
NPM_CI = ("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--include=dev")
#: esbuild's options: the command line ``esbuild entry.js --bundle --format=esm --minify
#: --target=es2020 --legal-comments=none --banner:js=… --outfile=editor.js --metafile=meta.json``.
ESBUILD = {
    "entryPoints": ["entry.js"], "bundle": True, "format": "esm", "minify": True, "target": "es2020",
    "legalComments": "none", "banner": {"js": BANNER}, "outfile": OUTPUT, "metafile": True,
    "logLevel": "warning", "color": False,
}
# Through esbuild's JS API rather than its command line: without its install script (npm ci
# --ignore-scripts) node_modules/.bin/esbuild is a Node wrapper that buries esbuild's own error
# under a Node stack trace; here stderr holds esbuild's messages only.
_ESBUILD_JS = """
const esbuild = require("esbuild"), fs = require("fs");
esbuild.build(JSON.parse(process.argv[1])).then(
  (result) => fs.writeFileSync("meta.json", JSON.stringify(result.metafile)),
  () => process.exit(1));   // esbuild has printed its messages
"""
_STAMP = "sha256.json"
_INSTALLED = ".gradclip-installed"   # in node_modules: the lock's sha256, once npm ci succeeded


class EditorError(RuntimeError):
    """The editor bundle could not be built; the message names the step that failed."""


@dataclass(frozen=True)
class EditorBuild:
    """What :func:`editor_build` wrote, and whether it came from the cache.

    Attributes
    ----------
    path, licenses : Path
        ``editor.js`` and ``editor.LICENSES.txt`` in the destination folder.
    size, gzip_size : int
        The bundle's bytes, raw and gzip-compressed (level 9).
    cache_hit : bool
        True when neither npm nor esbuild ran.
    work_dir : Path
        The cache folder of these inputs.
    """

    path: Path
    licenses: Path
    size: int
    gzip_size: int
    cache_hit: bool
    work_dir: Path

    def summary(self) -> str:
        """One line for the build log."""
        source = "cache" if self.cache_hit else "npm ci + esbuild"
        return f"{OUTPUT}: {self.size:,} bytes, {self.gzip_size:,} gzipped (from {source})"


def _read_inputs(source_dir: Path) -> dict[str, bytes]:
    """The three input files' bytes, read once: the key and the copy in the cache are made of these."""
    files = {}
    for name in INPUTS:
        path = Path(source_dir) / name
        try:
            files[name] = path.read_bytes()
        except OSError as exc:
            raise EditorError(f"cannot read the editor source {path}: {exc}") from exc
    return files


def _key(files: dict[str, bytes]) -> str:
    parts = [json.dumps(ESBUILD, sort_keys=True).encode(), _ESBUILD_JS.encode()]
    parts += [f"{name}\0{len(data)}\0".encode() + data for name, data in files.items()]
    return sha256_hex(b"\0".join(parts))[:16]


def input_key(source_dir: Path = SOURCE_DIR) -> str:
    """The cache key: a digest of the three inputs (names, sizes, bytes) and of how esbuild is run.

    The esbuild options count because changed options must not be served a bundle made with the old ones.
    """
    return _key(_read_inputs(source_dir))


def _tail(text: str, lines: int = 12) -> str:
    return "\n  ".join(text.strip().splitlines()[-lines:])


def _run(cmd: list[str], cwd: Path, what: str, shown: str | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd``; an :class:`EditorError` naming ``what`` if it cannot start or fails.

    ``shown`` is the command as the message gives it (default: ``cmd`` itself), then the tail of
    its stderr, which is where npm and esbuild say what went wrong.
    """
    shown = shown or " ".join(cmd)
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    except FileNotFoundError as exc:
        raise EditorError(f"{what} failed: {cmd[0]!r} is not installed (Node.js and npm build the editor)") from exc
    except subprocess.TimeoutExpired as exc:
        raise EditorError(f"{what} failed: {shown} timed out in {cwd}") from exc
    if proc.returncode != 0:
        raise EditorError(f"{what} failed: {shown} exited with {proc.returncode} in {cwd}:\n  "
                          + _tail(proc.stderr or proc.stdout))
    return proc


@contextmanager
def _locked(work: Path):
    """Hold ``<work>.lock``: two builds of the same inputs (two test sessions) take turns."""
    work.parent.mkdir(parents=True, exist_ok=True)
    with open(work.with_name(work.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the steps -----------------------------------------------------------------------------------


def _install(work: Path) -> None:
    """``npm ci`` in ``work``, unless an earlier run there completed.

    npm ci first deletes ``node_modules``, so a run cut short leaves no stamp and is redone; the stamp
    (the lock's sha256) is written only after npm succeeded.
    """
    lock_sha = sha256_hex((work / "package-lock.json").read_bytes())
    stamp = work / "node_modules" / _INSTALLED
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == lock_sha:
        return
    _run(list(NPM_CI), work, "npm ci (installing the editor's packages from editor/package-lock.json)")
    if not (work / "node_modules" / "esbuild" / "package.json").is_file():
        raise EditorError(f"npm ci succeeded in {work} but installed no esbuild; "
                          "is esbuild in editor/package.json?")
    stamp.write_text(lock_sha, encoding="utf-8")


def _bundle(work: Path) -> None:
    """esbuild: ``entry.js`` and what it imports -> ``editor.js`` (minified ES module) + ``meta.json``."""
    _run(["node", "-e", _ESBUILD_JS, json.dumps(ESBUILD)], work, "esbuild (bundling editor/entry.js)",
         shown="node -e 'esbuild.build(site_hooks.editor.ESBUILD)'")


def _bundled_packages(work: Path) -> list[Path]:
    """The folders of the packages that put at least one byte into the bundle (``meta.json``).

    A package that is installed but tree-shaken away entirely (``@codemirror/autocomplete``, which
    ``@codemirror/lang-python`` imports only for ``python()``) is not in the bundle, so not listed.
    """
    try:
        meta = json.loads((work / "meta.json").read_text(encoding="utf-8"))
        inputs = meta["outputs"][OUTPUT]["inputs"]
    except (OSError, ValueError, KeyError) as exc:
        raise EditorError(f"esbuild wrote no usable {work / 'meta.json'} ({exc})") from exc
    folders = set()
    for name, info in inputs.items():
        if info.get("bytesInOutput", 0) and "node_modules/" in name:
            parts = name.rsplit("node_modules/", 1)[1].split("/")
            package = "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])
            folders.add(work / name.rsplit("node_modules/", 1)[0] / "node_modules" / package)
    return sorted(folders)


def _license_section(folder: Path) -> str:
    """One package's heading (name, version, licence) and its licence file, as the package ships it."""
    try:
        info = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditorError(f"cannot read {folder / 'package.json'} ({exc})") from exc
    texts = sorted(p for p in folder.iterdir() if p.is_file() and p.name.upper().startswith(("LICENSE", "LICENCE")))
    if not texts:
        raise EditorError(f"{info.get('name', folder.name)} is bundled into {OUTPUT} but ships no licence "
                          f"file in {folder}; its notice cannot be written to {LICENSES}")
    rule = "-" * 78
    head = f"{info['name']} {info['version']} ({info.get('license', 'licence: see below')})"
    return f"{rule}\n{head}\n{rule}\n\n" + texts[0].read_text(encoding="utf-8").strip() + "\n"


def _licenses_text(work: Path) -> str:
    """``editor.LICENSES.txt``: every bundled package's licence, in name order."""
    intro = (f"Third-party software in {OUTPUT}\n\n{OUTPUT} (the code-cell editor of this site) bundles the "
             "packages below, each under its own licence, reproduced from the package as npm installed it.\n")
    return "\n".join([intro, *(_license_section(f) for f in _bundled_packages(work))])


def _finish(work: Path) -> dict[str, bytes]:
    """Write the licences beside esbuild's ``editor.js`` in ``work``, then the stamp that makes both reusable."""
    files = {OUTPUT: (work / OUTPUT).read_bytes(), LICENSES: _licenses_text(work).encode("utf-8")}
    atomic_write(work / LICENSES, files[LICENSES])
    stamp = {name: sha256_hex(data) for name, data in files.items()}
    atomic_write(work / _STAMP, json.dumps(stamp, indent=1).encode("utf-8"))   # last: the build is complete
    return files


def _cached(work: Path) -> dict[str, bytes] | None:
    """The finished files of ``work``, re-hashed against its stamp; None when it has none yet."""
    stamp = work / _STAMP
    if not stamp.is_file():
        return None
    files = {}
    for name, sha in json.loads(stamp.read_text(encoding="utf-8")).items():
        data = (work / name).read_bytes()
        if sha256_hex(data) != sha:
            raise EditorError(f"{work / name} changed after it was built (sha256 {sha256_hex(data)}, "
                              f"built {sha}); delete {work} to rebuild")
        files[name] = data
    return files


# --- the build -----------------------------------------------------------------------------------


def editor_build(dest_dir: Path, *, source_dir: Path = SOURCE_DIR, cache_dir: Path | None = None) -> EditorBuild:
    """Write ``editor.js`` and ``editor.LICENSES.txt`` into ``dest_dir``; see the module doc for how.

    Parameters
    ----------
    dest_dir : Path
        The site's ``javascripts/`` folder (created if missing).
    source_dir : Path
        The folder holding ``package.json``, ``package-lock.json`` and ``entry.js`` (tests pass a copy).
    cache_dir : Path, optional
        The cache root; default :func:`site_hooks.cache.default_cache_dir`.

    Returns
    -------
    EditorBuild

    Raises
    ------
    EditorError
        npm is missing, ``npm ci`` or esbuild failed (the message ends with their stderr), a bundled
        package ships no licence file, or a cached output changed since it was built.
    """
    inputs = _read_inputs(source_dir)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    work = root / "editor" / _key(inputs)
    with _locked(work):
        files = _cached(work)
        cache_hit = files is not None
        if not cache_hit:
            for name, data in inputs.items():
                atomic_write(work / name, data)
            _install(work)
            _bundle(work)
            files = _finish(work)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    bundle = files[OUTPUT]
    return EditorBuild(path=dest / OUTPUT, licenses=dest / LICENSES, size=len(bundle),
                       gzip_size=len(gzip.compress(bundle, compresslevel=9, mtime=0)),
                       cache_hit=cache_hit, work_dir=work)


def build_editor(dest_dir: Path, **options) -> Path:
    """Build the editor into ``dest_dir`` and return the path of ``editor.js``.

    The short form of :func:`editor_build` (same parameters, same errors), for callers that need only the file.
    """
    return editor_build(dest_dir, **options).path


def main(argv: list[str] | None = None) -> int:
    """``python -m site_hooks.editor [DEST]``: build into DEST (default ``site/javascripts``), print the sizes."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m site_hooks.editor [DEST]   (default: site/javascripts)", file=sys.stderr)
        return 2
    dest = Path(args[0]) if args else ROOT / "site" / "javascripts"
    try:
        built = editor_build(dest)
    except EditorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{built.path}: {built.size} bytes raw, {built.gzip_size} bytes gzip "
          f"({'cache' if built.cache_hit else 'built'}); licences: {built.licenses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
