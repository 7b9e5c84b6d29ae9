"""axe-core's violations on every page of the built site, light and dark, counted by impact.

Prints one line per page and theme: the number of violated rules by impact (critical, serious,
moderate, minor), then the rules; asserts nothing (tests/browser/test_a11y_browser.py does).
Every demo of a page is ready before axe runs, so the live state is what is checked.

    python tests/harness/axe_counts.py [--site site]     (a fresh build when --site is not given)

A tool beside the tests rather than a benchmark: it counts findings and measures no speed, so it
is not part of ``make bench`` and the Performance page.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import (AXE_IMPACTS, all_demos_ready, axe_source, axe_violations, instant_goto,  # noqa: E402
                     launch_options, page_url, set_scheme, site_or_build, site_pages)
from site_hooks import pins  # noqa: E402
from site_hooks.serve import start  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=None)
    args = ap.parse_args()
    site = site_or_build(args.site)
    from playwright.sync_api import sync_playwright

    server, base = start(site)
    t0 = time.perf_counter()
    total: Counter = Counter()
    print(f"{'page':38} {'theme':7} " + " ".join(f"{i:>8}" for i in AXE_IMPACTS) + "  rules")
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        ctx = browser.new_context()
        ctx.add_init_script(axe_source())
        page = ctx.new_page()
        # Page to page by instant navigation, as the test does: Python starts once per visit.
        with page.expect_response(lambda r: r.url.endswith("/sitemap.xml")):
            page.goto(base)
        for path in site_pages(site):
            instant_goto(page, page_url(site, base, path))
            all_demos_ready(page)
            for scheme in ("default", "slate"):
                set_scheme(page, scheme)
                found = axe_violations(page)
                counts = Counter(v["impact"] for v in found)
                total.update({(scheme, k): n for k, n in counts.items()})
                rules = ", ".join(f"{v['id']}({v['impact'][:3]}, {len(v['nodes'])})" for v in found) or "-"
                name = path.parent.relative_to(site).as_posix()
                name = "home" if name == "." else name
                print(f"{name:38} {'light' if scheme == 'default' else 'dark':7} "
                      + " ".join(f"{counts.get(i, 0):>8}" for i in AXE_IMPACTS) + f"  {rules}", flush=True)
        browser.close()
    server.shutdown()
    for scheme in ("default", "slate"):
        print(f"{'all pages':38} {'light' if scheme == 'default' else 'dark':7} "
              + " ".join(f"{total.get((scheme, i), 0):>8}" for i in AXE_IMPACTS))
    print(f"axe-core {pins.AXE_VERSION}; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
