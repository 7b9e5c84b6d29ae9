"""Record every demo's output over a few hundred settings, or compare with a record.

A refactoring that should change nothing a reader sees is checked with it: record on the old
code, compare on the new. Each case is a demo and a set of parameters (the defaults, each
parameter at its ends and middle, every choice, and seeded random mixes); its output is written
as canonical JSON (keys sorted, strict), with wall-clock fields (``seconds``) left out.

    python tests/harness/demo_outputs.py record /tmp/demo-outputs
    python tests/harness/demo_outputs.py compare /tmp/demo-outputs

``compare`` prints the cases that differ and the first differing path, and exits 1 if any do.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from gradclip import demos

WALL_CLOCK = {"seconds"}   # results that time the computation itself


def _values(p: demos.Param) -> list[Any]:
    if p.kind == "choice":
        return [c[0] for c in p.choices]
    if p.kind == "bool":
        return [True, False]
    if p.kind in ("float", "int") and p.min is not None and p.max is not None:
        lo, hi = float(p.min), float(p.max)
        if p.log and lo > 0:
            mid = math.sqrt(lo * hi)
            vals = [lo, mid, hi, lo * (hi / lo) ** 0.25, lo * (hi / lo) ** 0.8]
        else:
            vals = [lo, (lo + hi) / 2, hi, lo + 0.2 * (hi - lo), lo + 0.85 * (hi - lo)]
        return [int(round(v)) if p.kind == "int" else v for v in vals]
    return []


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, demo name, params) for every demo."""
    demos._load_all()
    out = []
    rng = random.Random(12)
    for name in sorted(demos.REGISTRY):
        spec = demos.REGISTRY[name]
        out.append((f"{name}/default", name, {}))
        varied = [(p.name, v) for p in spec.params for v in _values(p)]
        for key, v in varied:
            out.append((f"{name}/{key}={v!r}", name, {key: v}))
        by_param = {}
        for key, v in varied:
            by_param.setdefault(key, []).append(v)
        for k in range(4 if by_param else 0):
            mix = {key: rng.choice(vals) for key, vals in by_param.items()}
            out.append((f"{name}/mix{k}", name, mix))
    return out


def output(name: str, params: dict[str, Any]) -> str:
    try:
        out = demos.run(name, params)
    except demos.DemoInputError as exc:
        out = {"input_error": str(exc)}
    for key in WALL_CLOCK:
        out.get("results", {}).pop(key, None)
    return json.dumps(out, sort_keys=True, allow_nan=False)


def _file(root: Path, case: str) -> Path:
    return root / (hashlib.sha1(case.encode()).hexdigest()[:16] + ".json")


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}/{k}: missing on one side"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}/{k}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:80]} vs {str(b)[:80]}"


def main(argv: list[str]) -> int:
    mode, root = argv[1], Path(argv[2])
    all_cases = cases()
    if mode == "record":
        root.mkdir(parents=True, exist_ok=True)
        for case, name, params in all_cases:
            _file(root, case).write_text(json.dumps({"case": case, "output": output(name, params)}))
        print(f"recorded {len(all_cases)} cases in {root}")
        return 0
    differ = 0
    for case, name, params in all_cases:
        f = _file(root, case)
        if not f.exists():
            print(f"NEW   {case}")
            differ += 1
            continue
        old = json.loads(f.read_text())["output"]
        new = output(name, params)
        if old != new:
            differ += 1
            print(f"DIFF  {case}  {_first_difference(json.loads(old), json.loads(new))}")
    print(f"{len(all_cases)} cases, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
