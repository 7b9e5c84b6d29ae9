"""Demo blocks: a fenced ``gradclip-demo`` block in Markdown becomes a live demo.

::

    ```gradclip-demo
    demo: simulator
    id: sim-main
    controls: tau, lr, method
    tau: 2.0
    ```

Prose can quote a demo's result: ``{gc:sim-main.final_loss}`` becomes the value that
demo computes for its default settings, written in when the page is built.

The block is expanded when the page is built (a Python-Markdown extension, so it works
with plain ``markdown`` as well as MkDocs). The demo's ``compute`` runs here in CPython
with the block's initial parameters, and the output is written into the page as static
SVG and text: the figure and its numbers are readable before WebAssembly loads, and stay
if it never does. ``docs/javascripts/demos.js`` later binds to the same markup and
recomputes in the browser. The markup is the contract of ``ARCHITECTURE.md`` section 2.

A mistake in a block (unknown demo, unknown key, a value out of range) fails the build
with the line of the block, instead of publishing a demo that silently shows defaults.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from markdown import Extension
from markdown.preprocessors import Preprocessor

from gradclip import demos
from gradclip.demos import DemoSpec, Param
from site_hooks.fences import Fence, find_fences, replace_fences

__all__ = ["DemoBlock", "DemoBlockError", "parse_block", "find_blocks", "render_block",
           "DemoBlockExtension", "makeExtension"]

FENCE_NAME = "gradclip-demo"
SLIDER_STEPS = 1000   # a range slider's positions; demos.js maps them back (generated.js)
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*" + FENCE_NAME + r"\s*$")
_RESERVED = {"demo", "id", "controls", "figures", "results", "url", "sync", "caption"}


class DemoBlockError(ValueError):
    """A demo block a page author got wrong; the message names the line."""


@dataclass
class DemoBlock:
    demo: str
    id: str | None = None
    controls: list[str] | None = None
    figures: list[str] | None = None
    results: list[str] | None = None
    url: bool = False
    sync: str | None = None
    caption: str = ""
    initial: dict[str, Any] = field(default_factory=dict)
    line: int = 0


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_block(body: list[str], line: int = 0) -> DemoBlock:
    """Parse the ``key: value`` lines of one block (comments after ``#`` are ignored)."""
    keys: dict[str, str] = {}
    for i, raw in enumerate(body, start=line + 1):
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        if ":" not in text:
            raise DemoBlockError(f"line {i}: expected 'key: value', found {raw.strip()!r}")
        key, value = (s.strip() for s in text.split(":", 1))
        if key in keys:
            raise DemoBlockError(f"line {i}: {key!r} is given twice")
        keys[key] = value
    if "demo" not in keys:
        raise DemoBlockError(f"line {line}: a {FENCE_NAME} block needs 'demo: <name>'")
    block = DemoBlock(demo=keys.pop("demo"), line=line)
    block.id = keys.pop("id", None)
    block.url = keys.pop("url", "false").lower() in ("1", "true", "yes")
    block.sync = keys.pop("sync", None)
    block.caption = keys.pop("caption", "")
    for name in ("controls", "figures", "results"):
        if name in keys:
            setattr(block, name, _list(keys.pop(name)))
    block.initial = dict(keys)
    return block


def find_blocks(lines: list[str]) -> list[tuple[int, int, DemoBlock, str]]:
    """Every block in a page: (first line index, index after the closing fence, block, indent)."""
    return _blocks(find_fences(lines, _OPEN, FENCE_NAME, DemoBlockError))


def _blocks(fences: list[Fence]) -> list[tuple[int, int, DemoBlock, str]]:
    return [(f.start, f.end, parse_block(f.body, line=f.line), f.indent) for f in fences]


def _check(block: DemoBlock, spec: DemoSpec) -> dict[str, Any]:
    """Validate a block against its demo's spec; return the clean initial parameters."""
    names = {p.name for p in spec.params}
    where = f"line {block.line}, demo {block.demo!r}"
    for key in block.initial:
        if key not in names:
            raise DemoBlockError(f"{where}: unknown setting {key!r}; settings: {', '.join(sorted(names))}")
    for attr, known in (("controls", names), ("figures", {f for f, _ in spec.figures}),
                        ("results", {r for r, _ in spec.results})):
        for item in getattr(block, attr) or []:
            if item not in known:
                raise DemoBlockError(f"{where}: unknown {attr[:-1]} {item!r}; known: {', '.join(sorted(known))}")
    clean, notices = demos.validate(block.demo, block.initial)
    if notices:
        raise DemoBlockError(f"{where}: " + " ".join(notices))
    return clean


def _attr(value: Any) -> str:
    """JSON for an HTML attribute (strict: NaN and infinities are a bug, not data)."""
    return html.escape(json.dumps(value, allow_nan=False, separators=(",", ":")), quote=True)


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _slider_position(p: Param, value: float) -> float:
    """Where a value sits on a 0..SLIDER_STEPS slider (log-scaled sliders map log10 linearly)."""
    lo, hi = float(p.min), float(p.max)
    if p.log:
        lo, hi, value = math.log10(lo), math.log10(hi), math.log10(max(value, float(p.min)))
    return round(SLIDER_STEPS * (value - lo) / (hi - lo)) if hi > lo else 0


def _control(block_id: str, p: Param, value: Any) -> str:
    cid = f"{block_id}-{p.name}"
    label = html.escape(p.label or p.name)
    help_id = f"{cid}-help"
    described = f' aria-describedby="{help_id}"' if p.help else ""
    help_html = f'<small id="{help_id}" class="gc-help">{html.escape(p.help)}</small>' if p.help else ""
    kind = p.kind
    if kind in ("float", "int"):
        step = "any" if kind == "float" else _num(p.step or 1)
        bounds = "".join(f' {k}="{_num(v)}"' for k, v in (("min", p.min), ("max", p.max)) if v is not None)
        slider = ""
        if p.min is not None and p.max is not None:
            slider = (f'<input type="range" class="gc-slider" data-slider-for="{p.name}" min="0" max="{SLIDER_STEPS}" '
                      f'step="1" value="{_slider_position(p, float(value))}" aria-label="{label} (slider'
                      f'{", logarithmic" if p.log else ""})" tabindex="0"{" data-log" if p.log else ""}>')
        return (f'<div class="gc-control" data-kind="{kind}"><label for="{cid}">{label}</label>'
                f'<div class="gc-control-row">{slider}<input type="number" id="{cid}" data-param="{p.name}" '
                f'value="{_num(value)}" step="{step}"{bounds} inputmode="decimal"{described}></div>'
                f'{help_html}</div>')
    if kind == "choice":
        options = "".join(
            f'<option value="{html.escape(v)}"{" selected" if v == value else ""}>{html.escape(t)}</option>'
            for v, t in p.choices)
        return (f'<div class="gc-control" data-kind="choice"><label for="{cid}">{label}</label>'
                f'<select id="{cid}" data-param="{p.name}"{described}>{options}</select>{help_html}</div>')
    if kind == "bool":
        return (f'<div class="gc-control" data-kind="bool"><label for="{cid}">'
                f'<input type="checkbox" id="{cid}" data-param="{p.name}"{" checked" if value else ""}'
                f'{described}> {label}</label>{help_html}</div>')
    if kind == "file":
        return (f'<div class="gc-control gc-file" data-kind="file"><label for="{cid}">{label}</label>'
                f'<input type="file" id="{cid}" data-param="{p.name}" accept=".csv,.json,.txt,text/csv,'
                f'application/json,text/plain"{described}><p class="gc-drop" data-drop-for="{p.name}">'
                f'…or drop a file here. It is read in your browser and never uploaded.</p>{help_html}</div>')
    return ""  # hidden: state that only figures set (a dragged point)


def figure_html(block_id: str, name: str, caption: str, fig: dict[str, Any] | None) -> str:
    from gradclip.figures.svg import figure_to_svg

    static = figure_to_svg(fig, id_prefix=f"{block_id}-{name}") if fig else ""
    alt = html.escape((fig or {}).get("alt") or caption)
    return (f'<figure class="gc-figure" data-figure="{name}">'
            f'<div class="gc-static">{static}</div>'
            f'<canvas class="gc-canvas" hidden role="img" aria-label="{alt}" tabindex="-1"></canvas>'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def render_block(block: DemoBlock, block_id: str) -> str:
    """The HTML of one demo, with its default state computed now, in CPython."""
    spec = demos._spec(block.demo)
    clean = _check(block, spec)
    out = demos.run(block.demo, clean)
    if out.get("notices"):
        raise DemoBlockError(f"line {block.line}, demo {block.demo!r}: " + " ".join(out["notices"]))

    shown = block.controls or [p.name for p in spec.params if p.kind != "hidden"]
    controls = "".join(_control(block_id, spec.param(n), clean[n]) for n in shown)
    figure_names = block.figures or [f for f, _ in spec.figures]
    captions = dict(spec.figures)
    figures = "".join(figure_html(block_id, n, captions[n], out["figures"].get(n)) for n in figure_names)
    labels = dict(spec.results)
    result_names = block.results or [r for r, _ in spec.results]
    results = "".join(
        f'<div class="gc-result"><dt>{html.escape(labels[r])}</dt>'
        f'<dd data-result="{r}" data-value="{html.escape(out["results"].get(r, {}).get("value", ""))}">'
        f'{html.escape(out["results"].get(r, {}).get("text", "—"))}</dd></div>'
        for r in result_names)

    name = demo_name(block)
    # A named group, not a landmark: a page may hold many demos. Its settings form is a landmark,
    # named after the demo, so a screen reader's list of landmarks tells the demos apart.
    attrs = {
        "class": "gc-demo", "id": block_id, "data-demo": block.demo, "data-state": "loading",
        "role": "group", "aria-label": name,
    }
    if block.url:
        attrs["data-url"] = "true"
    if block.sync:
        attrs["data-sync"] = block.sync
    head = " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items())
    title = f'<p class="gc-demo-title">{html.escape(name)}</p>'
    form = (f'<form class="gc-controls" aria-label="{html.escape(name)}: settings" '
            f'>{controls}</form>') if controls else ""
    status = ('<div class="gc-status" role="status" aria-live="polite">'
              '<span class="gc-status-text">Figure computed when this page was built. '
              'The live demo starts when the Python runtime has loaded.</span>'
              '<progress class="gc-progress" max="4" value="0" hidden></progress>'
              '<noscript> Live demos need JavaScript; the figure and numbers shown are the '
              'default settings, computed by gradclip when the page was built.</noscript></div>')
    return (f'<div {head} data-initial="{_attr(clean)}" data-spec="{_attr(spec.to_dict())}">'
            f'{title}{status}{form}<div class="gc-notices" role="alert"></div>'
            f'<div class="gc-body"><div class="gc-figures">{figures}</div>'
            + (f'<dl class="gc-results">{results}</dl>' if results else "")
            + f'</div><p class="gc-description">{html.escape(out.get("description", ""))}</p></div>')


log = logging.getLogger("mkdocs.plugins.gradclip.demo_blocks")


def _render_or_report(block: DemoBlock, block_id: str) -> str:
    """Render a block; with ``GRADCLIP_DEMO_ERRORS=warn`` a broken block becomes a visible box
    and a warning (which ``mkdocs build --strict`` still turns into a failed build), so work
    in progress on one page does not stop everyone else's build."""
    try:
        return render_block(block, block_id)
    except ValueError as exc:
        if os.environ.get("GRADCLIP_DEMO_ERRORS") != "warn":
            raise
        log.warning("demo block %s: %s", block_id, exc)
        return (f'<div class="admonition failure"><p class="admonition-title">Demo {html.escape(block_id)} '
                f'could not be built</p><p>{html.escape(str(exc))}</p></div>')


def demo_name(block: DemoBlock) -> str:
    """What a demo is called on its page (its title line, its accessible name): the block's
    ``caption``, else its demo's title."""
    return block.caption or demos._spec(block.demo).title


def check_names(blocks: list[tuple[int, int, DemoBlock, str]]) -> None:
    """Two demos of one page may not share a name: their settings forms would be landmarks a
    screen reader cannot tell apart (axe-core: landmark-unique). The fix is a ``caption:``."""
    seen: dict[str, int] = {}
    for _, _, block, _ in blocks:
        try:
            name = demo_name(block)
        except ValueError:
            continue   # an unknown demo: rendering the block reports it, with its line
        if name in seen:
            raise DemoBlockError(f"line {block.line}: this demo and the one on line {seen[name]} are both "
                                 f"called {name!r}; give one of them a 'caption:'")
        seen[name] = block.line


def block_ids(blocks: list[tuple[int, int, DemoBlock, str]]) -> list[str]:
    """Each block's id: its ``id:`` key, else ``<demo>-<n>``; unique on the page."""
    counts: dict[str, int] = {}
    ids: list[str] = []
    for _, _, block, _ in blocks:
        counts[block.demo] = counts.get(block.demo, 0) + 1
        block_id = block.id or f"{block.demo}-{counts[block.demo]}"
        if block_id in ids:
            raise DemoBlockError(f"line {block.line}: demo id {block_id!r} is used twice on this page")
        ids.append(block_id)
    return ids


# A value computed by a demo on the page, written into the prose: {gc:pit-tau.final_loss}
_VALUE = re.compile(r"\{gc:(?P<id>[A-Za-z][\w-]*)\.(?P<field>\w+)\}")


def _value_span(block_id: str, field: str, result: dict[str, str]) -> str:
    # Static on purpose: the sentence around it describes the demo's default settings, so the
    # value must stay that of the defaults even when the reader moves a slider.
    return (f'<span class="gc-value" data-value-of="{html.escape(block_id)}" data-field="{field}" '
            f'data-value="{html.escape(result.get("value", ""))}">{html.escape(result.get("text", ""))}</span>')


class _ValuePreprocessor(Preprocessor):
    """Replace ``{gc:<demo id>.<result field>}`` in the prose with that demo's build-time result.

    Numbers in a page's sentences then come from gradclip like the figures do: a sentence
    that says where a run ends cannot drift from what the run computes.
    """

    def run(self, lines: list[str]) -> list[str]:
        if not any("{gc:" in line for line in lines):
            return lines
        blocks = find_blocks(lines)
        results: dict[str, dict[str, dict[str, str]]] = {}
        for (_, _, block, _), block_id in zip(blocks, block_ids(blocks)):
            clean = _check(block, demos._spec(block.demo))
            results[block_id] = demos.run(block.demo, clean)["results"]

        def value(m: re.Match) -> str:
            block_id, field = m.group("id"), m.group("field")
            if block_id not in results:
                raise DemoBlockError(f"{m.group(0)}: no demo with id {block_id!r} on this page; "
                                     f"ids: {', '.join(results) or 'none'}")
            if field not in results[block_id]:
                raise DemoBlockError(f"{m.group(0)}: demo {block_id!r} has no result {field!r}; "
                                     f"results: {', '.join(results[block_id])}")
            return _value_span(block_id, field, results[block_id][field])

        inside = {i for start, end, _, _ in blocks for i in range(start, end)}
        out, fence, prose = [], None, False
        for i, line in enumerate(lines):
            m = re.match(r"^\s*(`{3,}|~{3,})(.*)$", line)
            if m and i not in inside:
                if fence and m.group(1).startswith(fence):
                    fence, prose = None, False
                elif not fence:
                    # A prediction's question and explanation are prose: they quote the demo too.
                    fence, prose = m.group(1), m.group(2).strip() == "gradclip-predict"
                    out.append(line)
                    continue
            out.append(line if (fence and not prose) or i in inside else _VALUE.sub(value, line))
        return out


class _DemoPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        fences = find_fences(lines, _OPEN, FENCE_NAME, DemoBlockError)
        if not fences:
            return lines
        blocks = _blocks(fences)
        check_names(blocks)
        rendered = iter([_render_or_report(b[2], block_id) for b, block_id in zip(blocks, block_ids(blocks))])
        return replace_fences(self.md, lines, fences, lambda f: next(rendered))


class DemoBlockExtension(Extension):
    """Register with ``markdown_extensions: [site_hooks.demo_blocks]``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # Before fenced code (25): the block must not be taken for a code sample.
        md.preprocessors.register(_DemoPreprocessor(md), "gc_demo_blocks", 28)
        # Before math (29), the predict blocks (28.5) and reST roles (29.5), after whitespace (30).
        md.preprocessors.register(_ValuePreprocessor(md), "gc_demo_values", 29.8)


def makeExtension(**kwargs) -> DemoBlockExtension:  # noqa: N802
    return DemoBlockExtension(**kwargs)
