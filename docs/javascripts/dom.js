// Small DOM helpers the page scripts share: running on every page, building elements, waiting
// for a bound demo, handing the reader a file, and the reader's motion preference.

/**
 * Run `fn` for this page and for every page Material's instant navigation swaps in later
 * (its `document$` fires each time, without a reload); without Material, once the DOM is ready.
 */
export function onEveryPage(fn) {
  if (globalThis.document$ && typeof globalThis.document$.subscribe === "function") globalThis.document$.subscribe(fn);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

/** An element with attributes (false/null/undefined skipped; `class`, `text` special) and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  e.append(...children);
  return e;
}

/** Resolves with root.gcDemo once demos.js has bound the demo (checked once per frame). */
export function waitForDemo(root, frames = 600) {
  return new Promise((resolve, reject) => {
    const look = (n) => {
      if (!root || !root.isConnected) { reject(new Error("demo is gone")); return; }
      if (root.gcDemo) { resolve(root.gcDemo); return; }
      if (n <= 0) { reject(new Error(`demo ${root.id} was never bound`)); return; }
      requestAnimationFrame(() => look(n - 1));
    };
    look(frames);
  });
}

/** Save `blob` as `filename` through a temporary link (the object URL outlives the click). */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The reader asked for less motion: nothing plays by itself. */
export function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
