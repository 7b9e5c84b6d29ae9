// Code cells: the site's Python blocks, editable and run on the visit's one Python runtime.
//
// site_hooks/cells.py writes each cell complete (highlighted code, a bar of disabled buttons,
// the output computed when the page was built), so without JavaScript the page reads whole.
// This script enables the buttons, turns the code into an editor on first touch (the editor
// module loads then, not with the page), and runs the code through runtime.js as
// {type: "cell"}; gradclip/cells.py runs it in the worker as it did at build time.
//
// Namespaces: the cells of a page share one, in the page's order; every showing of a page gets a
// fresh one (`view`), kept apart from the demos and from other pages by the worker's Python.
// Hooks for tests: .gc-cell[data-cell][data-state = idle | running | done | error],
// [data-cell-output], and root.gcCell = {run(), stop(), source, setSource(text)}.

import { focusableScrollers } from "./a11y.js";
import { el, onEveryPage } from "./dom.js";
import { mountFigure } from "./paint.js";
import { getRuntime } from "./runtime.js";

const runtime = getRuntime();
let views = 0;
let editorModule = null;
const loadEditor = () => (editorModule = editorModule || import("./editor.js"));

class Cell {
  constructor(root, page) {
    this.root = root;
    this.page = page;
    this.label = root.dataset.label;
    this.codeEl = root.querySelector(".gc-cell-code");
    this.outputEl = root.querySelector("[data-cell-output]");
    this.statusEl = root.querySelector(".gc-cell-status");
    this.buttons = Object.fromEntries(["run", "stop", "reset", "copy"].map((b) => [b, root.querySelector(`.gc-cell-${b}`)]));
    this.original = this.codeEl.textContent.replace(/\n$/, "");
    this.editor = null;
    this.job = null;
    this.figures = [];
    this.buttons.run.addEventListener("click", () => this.run());
    this.buttons.stop.addEventListener("click", () => this.stop());
    this.buttons.reset.addEventListener("click", () => this.reset());
    this.buttons.copy.addEventListener("click", () => this.copy());
    for (const b of Object.values(this.buttons)) b.disabled = false;
    this.buttons.reset.disabled = true;
    this.makeEditable();
    const cell = this;
    root.gcCell = {
      run: () => cell.run(), stop: () => cell.stop(),
      get source() { return cell.source; }, setSource: (text) => cell.setSource(text),
    };
  }

  get source() { return this.editor ? this.editor.getDoc() : this.original; }

  // The static code stays until the reader reaches for it, then becomes the editor in the same
  // place and at the same size (the editor copies the theme's code style).
  makeEditable() {
    const code = this.codeEl;
    // The theme makes each code block focusable (it may scroll sideways); focusing it, with Tab,
    // a click or a tap, opens the editor in its place. Focus, not pointerdown: swapping the code
    // for the editor before the browser's own mousedown focusing would leave focus nowhere.
    const target = code.querySelector("code") || code;
    if (!target.hasAttribute("tabindex")) target.tabIndex = 0;
    code.addEventListener("focusin", () => this.openEditor(true), { once: true });
  }

  async openEditor(focus) {
    if (this.editor || this.opening) return this.opening;
    this.opening = (async () => {
      let mod;
      try {
        mod = await loadEditor();
      } catch (err) {
        this.say(`The editor could not be loaded (${err.message}); the code can still be run as it is.`);
        return;
      }
      const text = this.original;
      const height = this.codeEl.offsetHeight;
      this.codeEl.style.minHeight = `${height}px`;   // no jump while the editor lays itself out
      this.codeEl.textContent = "";
      this.editor = mod.createEditor({
        parent: this.codeEl, doc: text, label: `Python code of ${this.label}`,
        onRun: () => this.run(), onChange: (doc) => { this.buttons.reset.disabled = doc === this.original; },
      });
      requestAnimationFrame(() => { this.codeEl.style.minHeight = ""; });
      if (focus) this.editor.focus();
    })();
    return this.opening;
  }

  setSource(text) {
    return this.openEditor(false).then(() => { if (this.editor) this.editor.setDoc(text); });
  }

  reset() {
    if (this.editor) this.editor.setDoc(this.original);
    this.buttons.reset.disabled = true;
    this.say(`${this.label}: the original code is back.`);
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.source);
      this.say(`${this.label}: code copied.`);
    } catch {
      this.say("Copying needs the clipboard permission; select the code and copy it instead.");
    }
  }

  say(text) { this.statusEl.textContent = text; }

  setState(state) {
    this.root.dataset.state = state;
    const running = state === "running";
    const { run, stop } = this.buttons;
    const hadFocus = document.activeElement === (running ? run : stop);
    run.hidden = running;
    stop.hidden = !running;
    // The key that ran the cell can stop it, and the one that stopped it can run it again.
    if (hadFocus) (running ? stop : run).focus({ preventScroll: true });
  }

  run() {
    if (this.job) return this.job.promise;
    const { dataset } = this.root;
    this.clearOutput();
    this.setState("running");
    this.say(runtime.stage === "ready" ? `${this.label} is running…` : `${this.label} will run once Python has loaded…`);
    this.stream = this.outputEl.appendChild(el("pre", { class: "gc-cell-stream" }));
    const payload = {
      page: this.page.path, view: this.page.view, source: this.source, mode: dataset.mode,
      scope: dataset.scope, name: this.label, defined_earlier: JSON.parse(dataset.definedEarlier || "{}"),
    };
    const job = runtime.runCell(payload, (chunk) => this.append(chunk));
    this.job = job;
    job.promise = job.promise.then((result) => this.show(result), (err) => this.failed(err))
      .finally(() => { this.job = null; });
    return job.promise;
  }

  stop() {
    if (!this.job) return;
    const how = runtime.stopCell(this.job.id);
    if (how === "interrupt") this.say(`Stopping ${this.label}…`);
  }

  clearOutput() {
    for (const f of this.figures) f.destroy();
    this.figures = [];
    this.outputEl.textContent = "";
  }

  append({ stream, text }) {
    if (!this.stream) return;
    this.stream.append(stream === "stderr" ? el("span", { class: "gc-cell-stderr", text }) : text);
  }

  show(result) {
    if (!this.root.isConnected) return;
    this.clearOutput();
    const out = this.outputEl;
    if (result.streams.length) {
      out.append(el("pre", { class: "gc-cell-stream" }, ...result.streams.map(([name, text]) =>
        (name === "stderr" ? el("span", { class: "gc-cell-stderr", text }) : text))));
    }
    if (result.truncated) out.append(el("p", { class: "gc-cell-note", text: `${result.truncated.toLocaleString("en")} more characters of output were not kept.` }));
    if (result.value !== null) out.append(el("pre", { class: "gc-cell-value", text: result.value }));
    result.figures.forEach((fig) => this.addFigure(fig));
    if (result.error) out.append(errorBlock(result.error));
    focusableScrollers();                  // a long output line scrolls on a phone: keyboard-reachable
    this.stream = null;
    this.setState(result.error ? "error" : "done");
    this.say(result.error ? `${this.label}: ${result.error.summary}` : `${this.label} ran${describe(result)}.`);
  }

  addFigure(fig) {
    const canvas = el("canvas", { class: "gc-canvas", role: "img", "aria-label": fig.alt || fig.title || "A figure drawn by this cell" });
    const figure = el("figure", { class: "gc-figure gc-live" }, canvas);
    this.outputEl.append(figure);
    try {
      this.figures.push(mountFigure(canvas, fig));
    } catch (err) {
      figure.replaceWith(el("p", { class: "gc-cell-note", text: `The figure could not be drawn: ${err.message}` }));
    }
  }

  failed(err) {
    if (!this.root.isConnected) return;
    this.stream = null;
    if (err.stopped === "cancelled") {
      this.setState("idle");
      this.say(`${this.label} was not run.`);
      return;
    }
    if (err.stopped) {
      this.setState("error");
      this.outputEl.append(el("p", { class: "gc-cell-note", text: err.stopped === "culprit"
        ? "Stopped. This browser could not interrupt the cell, so Python was restarted: the variables of this page's cells are gone (run the cells above again); the demos recomputed."
        : "Python was restarted to stop another cell before this one ran; run it again." }));
      this.say(`${this.label} was stopped by restarting Python.`);
      return;
    }
    this.setState("error");
    this.outputEl.append(errorBlock({ summary: err.message, traceback: err.message, hint: "" }));
    this.say(`${this.label} could not run: ${err.message}`);
  }

  // The page is gone (instant navigation): a cell still running would hold Python, and every
  // demo of the next page would wait behind it, with no Stop button left to press.
  destroy() {
    if (this.job) runtime.stopCell(this.job.id);
    for (const f of this.figures) f.destroy();
    if (this.editor) this.editor.destroy();
  }
}

// The last line of a traceback says what went wrong; the rest is one click away.
function errorBlock(error) {
  return el("div", { class: "gc-cell-error" },
    el("pre", { class: "gc-cell-error-last", text: error.summary }),
    ...(error.hint ? [el("p", { class: "gc-cell-hint", text: error.hint })] : []),
    el("details", {}, el("summary", { text: "Full traceback" }), el("pre", { class: "gc-cell-traceback", text: error.traceback })));
}

function describe(result) {
  const lines = result.stdout ? result.stdout.replace(/\n$/, "").split("\n").length : 0;
  const parts = [];
  if (lines) parts.push(`${lines} line${lines === 1 ? "" : "s"} of output`);
  if (result.value !== null) parts.push("a value");
  if (result.figures.length) parts.push(`${result.figures.length} figure${result.figures.length === 1 ? "" : "s"}`);
  return parts.length ? `: ${parts.join(", ")}` : ", with no output";
}

// ---------- binding, on every page Material shows ----------

let live = [];

function bindAll() {
  for (const c of live) if (!c.root.isConnected) c.destroy();
  live = live.filter((c) => c.root.isConnected);
  const roots = document.querySelectorAll(".gc-cell:not([data-bound])");
  if (!roots.length) return;
  if (!window.WebAssembly || location.protocol === "file:") {          // the build's output stays
    const why = location.protocol === "file:"
      ? "Running the code needs the site served (pages opened straight from disk cannot load WebAssembly): python -m http.server --directory site"
      : "Running the code needs WebAssembly, which this browser does not have.";
    for (const root of roots) root.querySelector(".gc-cell-status").textContent = `Output computed when this page was built. ${why}`;
    return;
  }
  const page = { path: location.pathname, view: String(++views) };
  for (const root of roots) {
    root.dataset.bound = "true";
    try {
      live.push(new Cell(root, page));
    } catch (err) {
      console.error(err);
    }
  }
  // The editor module is fetched in the background once Python is up and the page has settled
  // (its first figures are computed then), so the first touch of a cell opens the editor at once
  // and the download never competes with the page's own start.
  if (!prefetching) prefetching = runtime.onStatus((stage) => { if (stage === "ready") whenSettled(prefetchEditor); });
}

let prefetching = null;
const SETTLE_MS = 1000;

function whenSettled(fn) {
  const idle = globalThis.requestIdleCallback || ((f) => setTimeout(f, 0));
  setTimeout(() => idle(fn, { timeout: 5000 }), SETTLE_MS);
}

function prefetchEditor() { loadEditor().catch(() => {}); }

onEveryPage(bindAll);
