"""A Content-Security-Policy that the built site satisfies, computed from the site itself.

The theme puts a few small inline scripts in every page (colour palette, tabs, scope).
Rather than allowing all inline script, the policy lists the sha256 of each one found in
the built pages, so any other inline script (an injected one) is refused. WebAssembly
compilation needs ``'wasm-unsafe-eval'``; everything else stays on ``'self'``.

``python -m site_hooks.csp site`` prints the policy, e.g. to paste into a server's config.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from pathlib import Path

__all__ = ["inline_script_hashes", "policy"]

# Executable inline scripts: no src, and no JSON/data type.
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", re.S)


def inline_script_hashes(site: Path) -> list[str]:
    """The distinct sha256 sources (``'sha256-…'``) of every inline script in the site's pages."""
    found: set[str] = set()
    for page in Path(site).rglob("*.html"):
        for body in _INLINE.findall(page.read_text(encoding="utf-8")):
            if body.strip():
                digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
                found.add(f"'sha256-{digest}'")
    return sorted(found)


def policy(site: Path) -> str:
    """The policy for ``site``: only this origin, hashed inline scripts, WebAssembly allowed."""
    scripts = " ".join(["'self'", "'wasm-unsafe-eval'", *inline_script_hashes(site)])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "worker-src 'self'; connect-src 'self'; img-src 'self' data:; "
            # Inline style attributes (theme, figures) are allowed; they cannot run code.
            "style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


if __name__ == "__main__":
    print(policy(Path(sys.argv[1] if len(sys.argv) > 1 else "site")))
