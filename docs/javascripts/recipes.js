// Framework recipes use the threshold the reader chose in the simulator.
//
// The snippets on guide/recipes.md define `TAU = 1.0` in their first lines, and the prose marks
// the threshold with <span data-tau>. The page is correct without this script (the default 1.0);
// with it, the value comes from, in order: this page's ?tau= query parameter, then the
// simulator's saved settings (localStorage "gradclip:simulator", a JSON object of its
// parameters). Anything that is not a positive finite number is ignored.

import { onEveryPage } from "./dom.js";

const SIM_KEY = "gradclip:simulator";
const TAU_MAX = 1e6;

function parseTau(raw) {
  if (raw === null || raw === undefined || raw === "") return null;
  const x = Number(raw);
  return Number.isFinite(x) && x > 0 && x <= TAU_MAX ? x : null;
}

export function chosenTau() {
  const fromQuery = parseTau(new URLSearchParams(location.search).get("tau"));
  if (fromQuery !== null) return { tau: fromQuery, source: "query" };
  try {
    const saved = JSON.parse(localStorage.getItem(SIM_KEY) || "null");
    const fromSim = saved && typeof saved === "object" ? parseTau(saved.tau) : null;
    if (fromSim !== null) return { tau: fromSim, source: "simulator" };
  } catch { /* unreadable storage or bad JSON: keep the default */ }
  return null;
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

function fill() {
  tagSnippetNumbers();
  const targets = document.querySelectorAll("[data-tau]");
  if (!targets.length) return;
  const chosen = chosenTau();
  if (!chosen) return;
  const literal = pythonLiteral(chosen.tau);
  for (const el of targets) el.textContent = literal;
  for (const el of document.querySelectorAll("[data-tau-source]")) {
    el.textContent = chosen.source === "query"
      ? "the value in this page's address"
      : "your last setting in the simulator";
  }
}

// Material's instant navigation swaps page content without a reload: bind on every page.
onEveryPage(fill);
