"""Files written from Python and committed (``generated.js``, the stored contour lines): the one
command line that rewrites such a file or, with ``--check``, says whether it is current.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

__all__ = ["main"]


def main(target: Path, make_text: Callable[[], str], command: str, description: str,
         argv: list[str] | None = None) -> int:
    """Write ``make_text()`` to ``target`` if it differs (exit 0), or with ``--check`` exit 1 when
    it differs, naming ``command`` as the fix."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = ap.parse_args(argv)
    text = make_text()
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if args.check:
        print("current" if current == text else f"{target} is stale: run {command}")
        return 0 if current == text else 1
    if current != text:
        target.write_text(text, encoding="utf-8")
    print(target)
    return 0
