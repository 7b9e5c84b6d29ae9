// Binds every live demo on a page to the one Python runtime (ARCHITECTURE.md §2, §3, §5).
//
// The page arrives with each demo's default state already drawn as SVG and text by the
// build. This module wires the controls, asks the worker to recompute when they change,
// and paints the answers on canvases. Material's `document$` emits on the first load and
// after every instant navigation, so binding happens there; the runtime outlives pages.

import { onEveryPage } from "./dom.js";
import { getRuntime, STAGES } from "./runtime.js";
import { mountFigure } from "./paint.js";
import { coerce, paramsFromQuery, queryFromParams, sliderToValue, valueToSlider } from "./params.js";
import { FILE_LIMIT } from "./generated.js";   // bytes read from a dropped file at most
import { sizeText } from "./format.js";

const runtime = getRuntime();

// ---------- one demo ----------

class Demo {
  constructor(root) {
    this.root = root;
    this.id = root.id;
    this.name = root.dataset.demo;
    this.spec = JSON.parse(root.dataset.spec);
    // No prototype: a key from a link or a figure such as "constructor" must not find a spec.
    this.paramSpecs = Object.assign(Object.create(null), Object.fromEntries(this.spec.params.map((p) => [p.name, p])));
    this.params = JSON.parse(root.dataset.initial);
    this.output = null;
    this.figures = {};
    this.inflight = null;      // the running request
    this.queued = false;       // params changed while a request was in flight
    this.heldNotices = [];     // shown with the next output (a link's corrections, a restart)
    this.fileNames = {};       // file parameter -> name of the file whose text it holds
    this.shownFiles = {};      // the same, for the output on show
    this.crashedWith = null;   // the settings whose computation killed Python
    this.statusEl = root.querySelector(".gc-status-text");
    this.progressEl = root.querySelector(".gc-progress");
    this.noticesEl = root.querySelector(".gc-notices");
    if (root.dataset.url === "true") this.readURL();
    this.bindControls();
    this.syncControls();
    root.gcDemo = this;
  }

  // --- state in the URL (one demo per page opts in with `url: true`) ---
  readURL() {
    const { values, notices } = paramsFromQuery(this.paramSpecs, location.search);
    Object.assign(this.params, values);
    this.heldNotices.push(...notices);
    if (this.heldNotices.length) this.showNotices(this.heldNotices);
  }

  writeURL() {
    if (this.root.dataset.url !== "true") return;
    const search = queryFromParams(this.spec.params, this.params, JSON.parse(this.root.dataset.initial));
    const url = location.pathname + (search ? `?${search}` : "") + location.hash;
    history.replaceState(history.state, "", url);
  }

  // --- controls ---
  bindControls() {
    // Enter in a number field would submit the form and reload the page; the change event
    // has already applied the value.
    const form = this.root.querySelector(".gc-controls");
    if (form) form.addEventListener("submit", (e) => e.preventDefault());
    for (const el of this.root.querySelectorAll("[data-param]")) {
      const p = this.paramSpecs[el.dataset.param];
      if (!p) continue;
      if (p.kind === "file") {
        el.addEventListener("change", () => el.files[0] && this.readFile(p, el.files[0]));
        const drop = this.root.querySelector(`[data-drop-for="${p.name}"]`);
        if (drop) this.bindDrop(drop, p);
        continue;
      }
      const event = el.type === "number" ? "change" : "input";
      el.addEventListener(event, () => {
        const raw = el.type === "checkbox" ? el.checked : el.value;
        const [v, note] = coerce(p, raw);
        this.showNotices(note ? [note] : []);
        this.setParams({ [p.name]: v });
      });
    }
    for (const el of this.root.querySelectorAll("[data-slider-for]")) {
      const p = this.paramSpecs[el.dataset.sliderFor];
      el.addEventListener("input", () => this.setParams({ [p.name]: sliderToValue(p, el.value) }, { from: el }));
    }
  }

  bindDrop(zone, p) {
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("gc-dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("gc-dragging"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("gc-dragging");
      const file = e.dataTransfer.files && e.dataTransfer.files[0];
      if (file) this.readFile(p, file);
    });
  }

  async readFile(p, file) {
    if (file.size > FILE_LIMIT) {
      this.showNotices([`${file.name} is ${sizeText(file.size)}; files over ${sizeText(FILE_LIMIT)} are not read.`]);
      return;
    }
    let text;
    try { text = await file.text(); } catch (err) {
      this.showNotices([`${file.name} could not be read: ${err.message || err}`]);
      return;
    }
    this.showNotices([]);
    this.fileNames[p.name] = file.name;
    this.setParams({ [p.name]: text });
  }

  syncControls(skip) {
    for (const el of this.root.querySelectorAll("[data-param]")) {
      const v = this.params[el.dataset.param];
      if (el === skip || el.type === "file" || v === undefined) continue;
      if (el.type === "checkbox") el.checked = !!v;
      else if (document.activeElement !== el || el.tagName === "SELECT") el.value = String(v);
    }
    for (const el of this.root.querySelectorAll("[data-slider-for]")) {
      const p = this.paramSpecs[el.dataset.sliderFor];
      if (el !== skip) el.value = String(valueToSlider(p, this.params[p.name]));
    }
  }

  // Set some parameters (from a control, a figure, a preset, a synced demo) and recompute.
  setParams(partial, { from = null, silent = false } = {}) {
    const changed = {};
    for (const [k, raw] of Object.entries(partial)) {
      const p = this.paramSpecs[k];
      if (!p) continue;
      const [v] = coerce(p, raw);
      if (this.params[k] !== v) { this.params[k] = v; changed[k] = v; }
    }
    if (!Object.keys(changed).length) return;
    this.syncControls(from);
    this.rerun();                // first: the request leaves before any bookkeeping
    this.scheduleURL();
    this.root.dispatchEvent(new CustomEvent("gc:params", { detail: { params: { ...this.params }, changed } }));
    if (!silent) this.syncPeers(changed);
  }

  // history.replaceState costs 5-15 ms and Chromium throttles it after ~200 calls in 10 s, so
  // during a drag the address bar is updated once things settle (200 ms), and on demand.
  scheduleURL() {
    if (this.root.dataset.url !== "true") return;
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => this.flushURL(), 200);
  }

  flushURL() {
    clearTimeout(this.urlTimer);
    this.urlTimer = null;
    if (this.root.isConnected) this.writeURL();
  }

  syncPeers(changed) {
    const peers = [];
    if (this.root.dataset.sync) peers.push(document.getElementById(this.root.dataset.sync));
    for (const el of document.querySelectorAll(`.gc-demo[data-sync="${this.id}"]`)) peers.push(el);
    for (const el of peers) {
      const peer = el && el.gcDemo;
      if (!peer) continue;
      const shared = Object.fromEntries(Object.entries(changed).filter(([k]) => k in peer.paramSpecs));
      if (Object.keys(shared).length) peer.setParams(shared, { silent: true });
    }
  }

  // --- computing ---
  rerun() {
    if (runtime.stage !== "ready") { runtime.start(); return; }   // runs once ready
    if (this.crashedWith === JSON.stringify(this.params)) return;  // not the same death twice
    if (this.spec.stream) {
      // A streaming run (training) is cancelled by a newer one: stale work is never finished.
      if (this.inflight) this.inflight.cancel();
      this.launch();
      return;
    }
    // Latest-only: while one request computes, changes just mark the state dirty; when it
    // returns, one request with the newest parameters follows. Dragging never queues work.
    if (this.inflight) { this.queued = true; return; }
    this.launch();
  }

  launch() {
    const sent = { ...this.params };
    const req = runtime.request(this.name, sent, (out) => this.show(this.withFiles(out, sent)));
    this.inflight = req;
    this.queued = false;
    this.root.dataset.busy = "true";
    req.promise.then((out) => { if (this.inflight === req) this.show(this.withFiles(out, sent)); })
      .catch((err) => {
        if (this.inflight !== req) return;
        if (err.crashed === "culprit") this.quarantine(err);
        else if (!err.crashed) this.showNotices([`The computation failed: ${err.message}`]);
        // A request that was only waiting when Python died is repeated once it is back.
      })
      .finally(() => {
        if (this.inflight !== req) return;
        this.inflight = null;
        delete this.root.dataset.busy;
        if (this.queued && this.root.isConnected) this.launch();
      });
  }

  // These settings killed Python. A file goes back to the last one that worked (and is
  // recomputed); other settings stay, and are not tried again until the reader changes one.
  quarantine(err) {
    const file = this.changedFile();
    if (file) {
      const name = this.fileNames[file.name] || "The file";
      this.heldNotices.push(`${name} stopped Python (${err.why}); ${this.revertFile(file)}`);
      return;
    }
    this.crashedWith = JSON.stringify(this.params);
    this.heldNotices.push("Computing these settings stopped Python; they are not tried again until you change one.");
    this.showNotices(this.heldNotices);
  }

  // An output carries a file parameter back as its length only (gradclip.demos._echo): put
  // back the text this request sent, which the rest of the page compares and restores.
  withFiles(out, sent) {
    if (!out || !out.params) return out;
    for (const p of this.spec.params) {
      if (p.kind === "file" && p.name in out.params) out.params[p.name] = sent[p.name];
    }
    return out;
  }

  // The file parameter whose text differs from the output on show, if any.
  changedFile() {
    if (!this.output) return null;
    return this.spec.params.find((p) => p.kind === "file" && this.params[p.name] !== this.output.params[p.name]);
  }

  // Put a file parameter back to the file on show; returns the sentence saying what stays.
  revertFile(p) {
    this.params[p.name] = this.output.params[p.name];
    // The picker would otherwise keep showing the name of the file that was not used.
    for (const input of this.root.querySelectorAll(`input[type=file][data-param="${p.name}"]`)) input.value = "";
    const shown = this.fileNames[p.name] = this.shownFiles[p.name];
    return `the numbers and figures still show ${shown ? `the file ${shown}` : "the sample log"}.`;
  }

  show(out) {
    if (!this.root.isConnected) return;
    if (out.input_error) {
      // A rejected file must not leave the previous file's results looking like its own.
      const file = this.changedFile();
      const notes = [out.input_error];
      if (file) notes.push(`${this.fileNames[file.name] || "The new file"} was not used; ${this.revertFile(file)}`);
      this.showNotices(notes);
      this.root.dispatchEvent(new CustomEvent("gc:input-error", { detail: { message: out.input_error } }));
      return;
    }
    this.output = out;
    const paintErrors = [];
    for (const [name, fig] of Object.entries(out.figures || {})) {
      const figEl = this.root.querySelector(`[data-figure="${name}"]`);
      if (!figEl) continue;
      const canvas = figEl.querySelector("canvas");
      // One figure that cannot be drawn must not take the numbers or the other figures with
      // it: that figure falls back to its build-time picture and the reader is told.
      try {
        if (this.figures[name]) this.figures[name].update(fig);
        else {
          canvas.hidden = false;
          this.figures[name] = mountFigure(canvas, fig, { onParam: (partial) => this.setParams(partial) });
        }
        canvas.setAttribute("aria-label", fig.alt || figEl.querySelector("figcaption").textContent);
        figEl.classList.add("gc-live");
      } catch (err) {
        console.error(err);
        if (this.figures[name]) { this.figures[name].destroy(); delete this.figures[name]; }
        canvas.hidden = true;
        figEl.classList.remove("gc-live");
        paintErrors.push(`The figure "${name}" could not be drawn (${err.message}); the picture shown was computed when the page was built.`);
      }
    }
    for (const dd of this.root.querySelectorAll("[data-result]")) {
      const r = (out.results || {})[dd.dataset.result];
      if (!r) continue;
      dd.dataset.value = r.value;
      dd.textContent = r.text;
    }
    const desc = this.root.querySelector(".gc-description");
    if (desc && out.description) desc.textContent = out.description;
    const notes = [...this.heldNotices, ...(out.notices || []), ...paintErrors];
    this.heldNotices = [];
    this.crashedWith = null;
    this.shownFiles = { ...this.fileNames };
    this.showNotices(notes);
    if (out.done !== false) this.root.dataset.state = "ready";
    this.root.dispatchEvent(new CustomEvent("gc:output", { detail: { output: out } }));
  }

  showNotices(list) {
    if (!this.noticesEl) return;
    this.noticesEl.textContent = "";
    for (const text of list) {
      const p = document.createElement("p");
      p.textContent = text;
      this.noticesEl.append(p);
    }
    this.noticesEl.hidden = list.length === 0;
  }

  onStage(stage, detail) {
    if (!this.root.isConnected) return;
    const i = STAGES.indexOf(stage);
    if (this.progressEl) {
      this.progressEl.hidden = stage === "ready" || stage === "error" || i < 0;
      this.progressEl.value = Math.max(i, 0);
    }
    if (stage === "restarting") {
      this.heldNotices.push(detail);
      this.showNotices(this.heldNotices);
      return;
    }
    if (stage === "error") {
      this.root.dataset.state = "error";
      this.statusEl.textContent = this.output
        ? `The live demo stopped: ${detail} The figures and numbers show its last results.`
        : `The live demo could not start: ${detail} The figure and numbers shown were computed when this page was built.`;
      return;
    }
    if (stage === "ready") {
      this.statusEl.textContent = "Live: computed by gradclip in your browser.";
      this.rerun();
      return;
    }
    if (i >= 0) {
      this.root.dataset.state = "loading";
      this.statusEl.textContent = `${detail} (step ${i + 1} of ${STAGES.length}) — the figure below was computed when this page was built.`;
    }
  }

  destroy() {
    if (this.urlTimer) this.flushURL();
    if (this.unsubscribe) this.unsubscribe();
    if (this.inflight) this.inflight.cancel();
    for (const f of Object.values(this.figures)) f.destroy();
  }
}

// ---------- binding, on every page Material shows ----------

let live = [];
let observer = null;

function bindAll() {
  for (const d of live) if (!d.root.isConnected) d.destroy();
  live = live.filter((d) => d.root.isConnected);
  const fresh = [];
  for (const root of document.querySelectorAll(".gc-demo:not([data-bound])")) {
    root.dataset.bound = "true";
    try {
      const demo = new Demo(root);
      live.push(demo);
      fresh.push(demo);
    } catch (err) {
      console.error(err);
      root.dataset.state = "error";
      const s = root.querySelector(".gc-status-text");
      if (s) s.textContent = `This demo could not be set up: ${err.message}. The figure shown was computed when the page was built.`;
    }
  }
  if (!fresh.length) return;
  if (!window.WebAssembly || location.protocol === "file:") {
    const why = location.protocol === "file:"
      ? "pages opened straight from disk cannot load WebAssembly. Serve the folder instead: python -m http.server --directory site"
      : "this browser has no WebAssembly.";
    for (const d of fresh) d.onStage("error", `${why}.`);
    return;
  }
  // Start the runtime when the first demo nears the viewport (or at once if it already did).
  if (runtime.worker) {
    for (const d of fresh) d.unsubscribe = runtime.onStatus((stage, detail) => d.onStage(stage, detail));
    return;
  }
  observer = observer || new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { runtime.start(); observer.disconnect(); observer = null; }
  }, { rootMargin: "800px 0px" });
  for (const d of fresh) {
    d.unsubscribe = runtime.onStatus((stage, detail) => d.onStage(stage, detail));
    observer.observe(d.root);
  }
}

// Leaving the page (or the tab) writes any pending URL state first.
addEventListener("pagehide", () => { for (const d of live) if (d.urlTimer) d.flushURL(); });

onEveryPage(bindAll);
