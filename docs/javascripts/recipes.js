// Framework recipes use the threshold the reader chose in the simulator.
//
// The snippets on guide/recipes.md define `TAU = 1.0` in their first lines, and the prose marks
// the threshold with <span data-tau>. The page is correct without this script (the default 1.0);
// with it, the value comes from, in order: this page's ?tau= query parameter, then the
// simulator's saved settings (localStorage "gradclip:simulator", a JSON object of its
// parameters). Anything that is not a positive finite number is ignored.

import { onEveryPage } from "./dom.js";
import { TAU_MAX } from "./generated.js";

const SIM_KEY = "gradclip:simulator";

function parseTau(raw) {
  if (raw === null || raw === undefined || raw === "") return null;
  const x = Number(raw);
  return Number.isFinite(x) && x > 0 && x <= TAU_MAX ? x : null;
}

export function chosenTau() {
  const raw = new URLSearchParams(location.search).get("tau");
  const fromQuery = parseTau(raw);
  if (fromQuery !== null) return { tau: fromQuery, source: "query" };
  // A threshold in the address that is not usable is ignored, visibly.
  const ignored = raw === null || raw === "" ? null : raw;
  try {
    const saved = JSON.parse(localStorage.getItem(SIM_KEY) || "null");
    const fromSim = saved && typeof saved === "object" ? parseTau(saved.tau) : null;
    if (fromSim !== null) return { tau: fromSim, source: "simulator", ignored };
  } catch { /* unreadable storage or bad JSON: keep the default */ }
  return ignored === null ? null : { tau: null, source: "default", ignored };
}

// A Python float literal with at most four significant digits: 1 -> "1.0", 0.25 -> "0.25".
export function pythonLiteral(x) {
  let s = String(Number(x.toPrecision(4)));
  if (!/[.eE]/.test(s)) s += ".0";
  return s;
}

// Pygments writes `TAU = 1.0` as <span class="n">TAU</span> … <span class="o">=</span> …
// <span class="mf">1.0</span>; tag that number so it can be filled like any [data-tau].
function tagSnippetNumbers() {
  for (const name of document.querySelectorAll("pre code span.n, pre code span.nn")) {
    if (name.textContent !== "TAU") continue;
    let node = name.nextSibling;
    let sawEquals = false;
    while (node) {
      const text = node.textContent.trim();
      if (text === "") { node = node.nextSibling; continue; }
      if (!sawEquals && text === "=") { sawEquals = true; node = node.nextSibling; continue; }
      if (sawEquals && node.nodeType === 1 && /^m[fi]$/.test(node.className)) {
        node.setAttribute("data-tau", "");
      }
      break;
    }
  }
}

const SOURCES = {
  query: "the value in this page's address",
  simulator: "your last setting in the simulator",
  default: "the default",
};

function fill() {
  tagSnippetNumbers();
  const targets = document.querySelectorAll("[data-tau]");
  if (!targets.length) return;
  const chosen = chosenTau();
  if (!chosen) return;
  if (chosen.tau !== null) {
    const literal = pythonLiteral(chosen.tau);
    for (const el of targets) el.textContent = literal;
  }
  let source = SOURCES[chosen.source];
  if (chosen.ignored !== undefined && chosen.ignored !== null) {
    const shown = chosen.ignored.length > 20 ? `${chosen.ignored.slice(0, 20)}…` : chosen.ignored;
    source += ` (the address's tau=${shown} was ignored: a threshold is a number above 0 and at most ${TAU_MAX.toLocaleString("en")})`;
  }
  for (const el of document.querySelectorAll("[data-tau-source]")) el.textContent = source;
}

// Material's instant navigation swaps page content without a reload: bind on every page.
onEveryPage(fill);
