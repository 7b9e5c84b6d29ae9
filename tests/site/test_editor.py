"""site_hooks/editor.py bundles editor/entry.js with its pinned CodeMirror packages into editor.js.

The builds here use a cache folder of their own (one ``npm ci`` per test session; npm's own
download cache makes it quick), so the first build is always a real one. Broken inputs are
always temporary copies of editor/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from site_hooks import editor
from site_hooks.editor import INPUTS, EditorError, editor_build, input_key

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]   # the repository
SOURCE = ROOT / "editor"
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("editor-cache")


def copy_sources(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in INPUTS:
        shutil.copyfile(SOURCE / name, dest / name)
    return dest


def record_runs(monkeypatch) -> list[str]:
    """The name of every step the build runs ("npm", "esbuild"), recorded; the steps still run."""
    calls: list[str] = []
    real = editor._run

    def run(cmd, cwd, what, **options):
        calls.append(what.split()[0])
        return real(cmd, cwd, what, **options)

    monkeypatch.setattr(editor, "_run", run)
    return calls


def test_second_build_comes_from_the_cache_byte_identical(cache, tmp_path, monkeypatch):
    calls = record_runs(monkeypatch)
    first = editor_build(tmp_path / "one", cache_dir=cache)
    assert not first.cache_hit and calls == ["npm", "esbuild"]
    bundle = first.work_dir / "editor.js"
    built_at = bundle.stat().st_mtime_ns, (first.work_dir / "sha256.json").stat().st_mtime_ns
    second = editor_build(tmp_path / "two", cache_dir=cache)
    assert second.cache_hit and calls == ["npm", "esbuild"]    # neither ran again
    assert (bundle.stat().st_mtime_ns, (first.work_dir / "sha256.json").stat().st_mtime_ns) == built_at
    for name in ("editor.js", "editor.LICENSES.txt"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert first.path.read_bytes().startswith(b"/*! gradclip editor")
    assert b"createEditor" in first.path.read_bytes()          # the export keeps its name
    assert 0 < second.gzip_size < second.size


def test_a_rebuild_is_byte_identical_and_reuses_node_modules(cache, tmp_path, monkeypatch):
    """With the finished build removed, esbuild runs again (npm does not) and writes the same bytes."""
    before = editor_build(tmp_path / "before", cache_dir=cache)
    for name in ("sha256.json", "editor.js"):
        (before.work_dir / name).unlink()
    calls = record_runs(monkeypatch)
    after = editor_build(tmp_path / "after", cache_dir=cache)
    assert calls == ["esbuild"] and not after.cache_hit
    assert after.path.read_bytes() == before.path.read_bytes()
    assert after.licenses.read_bytes() == before.licenses.read_bytes()


def test_licences_of_every_bundled_package(cache, tmp_path):
    built = editor_build(tmp_path, cache_dir=cache)
    text = built.licenses.read_text(encoding="utf-8")
    lock = json.loads((SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    headings = re.findall(r"^(\S+) (\S+) \((\S+)\)$", text, re.M)
    names = {name for name, _, _ in headings}
    assert {"@codemirror/view", "@codemirror/state", "@lezer/python", "style-mod"} <= names
    assert "esbuild" not in names and "@codemirror/autocomplete" not in names   # not in the bundle
    for name, version, licence in headings:
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
        assert licence == "MIT"
    assert text.count("Permission is hereby granted") == len(headings)


def test_a_changed_cached_bundle_is_refused(cache, tmp_path):
    built = editor_build(tmp_path / "ok", cache_dir=cache)
    copy = tmp_path / "cache" / "editor" / built.work_dir.name   # the finished files are all it reads
    copy.mkdir(parents=True)
    for name in ("sha256.json", "editor.js", "editor.LICENSES.txt"):
        shutil.copyfile(built.work_dir / name, copy / name)
    with open(copy / "editor.js", "ab") as f:
        f.write(b"\n//changed")
    with pytest.raises(EditorError, match="changed after it was built"):
        editor_build(tmp_path / "bad", cache_dir=tmp_path / "cache")


def test_the_lockfile_pins_every_package():
    lock = json.loads((SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["lockfileVersion"] >= 2
    entries = {k: v for k, v in lock["packages"].items() if k}
    assert len(entries) > 10
    for path, entry in entries.items():
        assert EXACT.match(entry["version"]), path
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry["integrity"]), path
    # No registry address in the lock: npm fetches from whichever registry it is set up with.
    assert "://" not in (SOURCE / "package-lock.json").read_text(encoding="utf-8")
    manifest = json.loads((SOURCE / "package.json").read_text(encoding="utf-8"))
    for section in ("dependencies", "devDependencies"):
        assert lock["packages"][""].get(section, {}) == manifest.get(section, {})
        for name, version in manifest.get(section, {}).items():
            assert entries[f"node_modules/{name}"]["version"] == version


def test_package_json_has_exact_versions_only():
    manifest = json.loads((SOURCE / "package.json").read_text(encoding="utf-8"))
    assert manifest["private"] is True
    wanted = {"@codemirror/state", "@codemirror/view", "@codemirror/commands", "@codemirror/language",
              "@codemirror/lang-python"}
    assert wanted <= set(manifest["dependencies"]) and "codemirror" not in manifest["dependencies"]
    assert set(manifest["devDependencies"]) == {"esbuild"}
    for section in ("dependencies", "devDependencies"):
        for name, version in manifest[section].items():
            assert EXACT.match(version), f"{name}: {version} is not an exact version"


def test_a_broken_entry_names_esbuilds_error(cache, tmp_path):
    source = copy_sources(tmp_path / "src")
    (source / "entry.js").write_text('import { createEditor } from "./nowhere.js";\nexport { createEditor };\n')
    with pytest.raises(EditorError) as caught:
        editor_build(tmp_path / "out", source_dir=source, cache_dir=cache)
    message = str(caught.value)
    assert message.startswith("esbuild (bundling editor/entry.js) failed")
    assert 'Could not resolve "./nowhere.js"' in message
    assert not (tmp_path / "out" / "editor.js").exists()


def test_no_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(EditorError, match=r"npm ci .* failed: 'npm' is not installed"):
        editor_build(tmp_path / "out", source_dir=copy_sources(tmp_path / "src"), cache_dir=tmp_path / "cache")


def test_the_key_follows_every_input(tmp_path):
    source = copy_sources(tmp_path / "src")
    key = input_key(source)
    assert key == input_key(SOURCE)
    for name in INPUTS:
        path = source / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert input_key(source) != key, name
        path.write_bytes(original)


def test_command_line_prints_the_sizes(cache, tmp_path):
    env = {**os.environ, "GRADCLIP_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "site_hooks.editor", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    size = (tmp_path / "editor.js").stat().st_size
    assert re.search(rf"{size} bytes raw, \d+ bytes gzip", proc.stdout), proc.stdout
