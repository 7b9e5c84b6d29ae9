"""A Content-Security-Policy that the built site satisfies, computed from the site itself.

The theme puts a few small inline scripts in every page (colour palette, tabs, scope).
Rather than allowing all inline script, the policy lists the sha256 of each one found in
the built pages, so any other inline script (an injected one) is refused. WebAssembly
compilation needs ``'wasm-unsafe-eval'``; everything else stays on ``'self'``.

There is one policy, delivered two ways:

* as a ``<meta http-equiv="Content-Security-Policy">`` in every page, written by the build
  (:func:`add_meta_policy`, called from ``mkdocs_hooks.py``), because a static host such as
  GitHub Pages cannot send headers. A meta policy cannot carry every directive: browsers ignore
  ``frame-ancestors``, ``report-uri`` and ``sandbox`` there (and say so on the console), so the
  meta form is the policy without them (:data:`HEADER_ONLY`).
* as a header, by a server that can send one: ``python -m site_hooks.csp site`` prints it, and
  ``python -m site_hooks.serve --csp`` sends it.

A meta policy governs the page only. A Web Worker loaded from a URL gets its policy from the
headers of its own script, so under the meta tag alone the Python worker (``worker.js``) runs
without one; under the header it runs under the same policy, which is why
``'wasm-unsafe-eval'`` is in it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import sys
from pathlib import Path

__all__ = ["HEADER_ONLY", "add_meta_policy", "inline_script_hashes", "meta_tag", "policy"]

# Executable inline scripts: no src, and no JSON/data type.
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", re.S)

#: Directives a ``<meta>`` policy may not carry (CSP Level 3, "delivery via meta element").
HEADER_ONLY = ("frame-ancestors", "report-uri", "sandbox")

# Where the build puts the meta policy: first thing after the charset, before any script or
# style it governs (a meta policy applies only to what follows it).
_CHARSET = re.compile(r"<meta charset=[\"']?utf-8[\"']?\s*/?>", re.I)
_META = re.compile(r"\s*<meta http-equiv=\"Content-Security-Policy\"[^>]*>", re.I)


def inline_script_hashes(site: Path) -> list[str]:
    """The distinct sha256 sources (``'sha256-…'``) of every inline script in the site's pages."""
    found: set[str] = set()
    for page in Path(site).rglob("*.html"):
        for body in _INLINE.findall(page.read_text(encoding="utf-8")):
            if body.strip():
                digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
                found.add(f"'sha256-{digest}'")
    return sorted(found)


def _directives(site: Path) -> list[tuple[str, str]]:
    scripts = " ".join(["'self'", "'wasm-unsafe-eval'", *inline_script_hashes(site)])
    return [
        ("default-src", "'self'"),
        ("script-src", scripts),
        ("worker-src", "'self'"),
        ("connect-src", "'self'"),
        ("img-src", "'self' data:"),
        # Inline style attributes (theme, figures) are allowed; they cannot run code.
        ("style-src", "'self' 'unsafe-inline'"),
        ("font-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'self'"),
    ]


def policy(site: Path, *, meta: bool = False) -> str:
    """The policy for ``site``: only this origin, hashed inline scripts, WebAssembly allowed.

    ``meta=True`` gives the same policy without the directives a ``<meta>`` cannot carry.
    """
    return "; ".join(f"{name} {value}" for name, value in _directives(site)
                     if not (meta and name in HEADER_ONLY))


def meta_tag(text: str) -> str:
    """The ``<meta http-equiv>`` element carrying policy ``text``.

    >>> print(meta_tag("default-src 'self'"))
    <meta http-equiv="Content-Security-Policy" content="default-src 'self'">
    """
    # Single quotes stay as they are (the attribute is double-quoted): the policy reads as written.
    return f'<meta http-equiv="Content-Security-Policy" content="{html.escape(text, quote=False).replace(chr(34), "&quot;")}">'


def add_meta_policy(site: Path) -> int:
    """Write the meta form of the site's policy into every page of ``site``, right after its
    ``<meta charset>`` (replacing one written before); returns the number of pages.

    Pages without a charset declaration (none that MkDocs writes) are left alone.
    """
    tag = meta_tag(policy(site, meta=True))
    count = 0
    for page in Path(site).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        m = _CHARSET.search(text)
        if not m:
            continue
        head, rest = text[: m.end()], _META.sub("", text[m.end():], count=1)
        page.write_text(f"{head}\n      {tag}{rest}", encoding="utf-8")
        count += 1
    return count


if __name__ == "__main__":
    print(policy(Path(sys.argv[1] if len(sys.argv) > 1 else "site")))
