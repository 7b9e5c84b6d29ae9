"""Shared fixtures (helpers that are not fixtures live in ``support.py``): the site built once, served from 127.0.0.1, and headless Chromium.

Browser: ``$GRADCLIP_CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``, else the
browser Playwright installed (``playwright install chromium``), the normal path on a
machine with internet. ``GRADCLIP_SITE_DIR`` reuses an already built site (fast local runs).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from support import CHROMIUM_ARGS, ROOT, build_site, chromium_path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the machine's Chromium when there is one."""
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    path = chromium_path()
    if path:
        args["executable_path"] = path
    return args


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The whole site, built once per test session (strict mode: any warning fails)."""
    prebuilt = os.environ.get("GRADCLIP_SITE_DIR")
    if prebuilt:
        return Path(prebuilt)
    dest = tmp_path_factory.mktemp("site")
    proc = build_site(dest)
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return dest


@pytest.fixture(scope="session")
def site_url(built_site) -> str:
    """The built site served from 127.0.0.1 on a free port, for the length of the session."""
    sys.path.insert(0, str(ROOT))
    from site_hooks.serve import start

    server, url = start(built_site)
    yield url
    server.shutdown()


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught exceptions of the page, collected for an assertion."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture(scope="session")
def have_browser() -> bool:
    return chromium_path() is not None or shutil.which("playwright") is not None


