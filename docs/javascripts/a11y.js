// Repairs to the theme's own markup for screen readers and keyboards, on every page Material shows.

import { onEveryPage } from "./dom.js";

// Material puts each code block's copy button in a <nav> of its own. That makes one unnamed
// navigation landmark per code block (axe-core: landmark-unique), and a page with twenty code
// samples would list twenty "navigation" landmarks that lead nowhere, burying the site's real
// ones. The <nav> only groups one button, so it loses the landmark role; the button keeps its
// name ("Copy to clipboard") and its place in the tab order.
function unlandmarkCodeNavs() {
  for (const nav of document.querySelectorAll("nav.md-code__nav:not([role])")) nav.setAttribute("role", "none");
}

// A box that scrolls (a wide formula, table or code line on a phone; a cell's long output, which
// has a height limit) must take focus, or a keyboard cannot scroll it (axe-core:
// scrollable-region-focusable). Material makes code
// blocks focusable only on screens with hover; this covers every width and input, and only
// while the box really scrolls, so a wide screen gets no extra tab stops. Boxes are watched for
// size changes (a phone turned sideways); the ones this made focusable are marked, so the
// theme's own tabindex is never removed.
const SCROLLERS = ".gc-math, .md-typeset__scrollwrap, .md-typeset pre > code, .gc-cell-stream, .gc-cell-value";
const watched = new Set();
let sizes = null;

function markScroller(box) {
  const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  if (scrolls && !box.hasAttribute("tabindex")) {
    box.tabIndex = 0;
    box.dataset.gcFocusable = "";
  } else if (!scrolls && "gcFocusable" in box.dataset) {
    box.removeAttribute("tabindex");
    delete box.dataset.gcFocusable;
  }
}

// Also called by cells.js when a cell's output is replaced by a run in the page.
export function focusableScrollers() {
  sizes = sizes || new ResizeObserver((entries) => { for (const e of entries) markScroller(e.target); });
  for (const box of watched) if (!box.isConnected) { sizes.unobserve(box); watched.delete(box); }
  for (const box of document.querySelectorAll(SCROLLERS)) {
    if (watched.has(box)) continue;
    watched.add(box);
    sizes.observe(box);   // reports the first size at once, which marks the box
  }
}

onEveryPage(() => {
  unlandmarkCodeNavs();
  focusableScrollers();
});
