// The simulator page (docs/simulator.md): what the page adds around the generic demo.
//
// demos.js already binds the demo (controls, URL state, results, figures). This module
// hooks in through root.gcDemo and its events (ARCHITECTURE.md §5) and adds: presets, the
// marker that plays along the run in all three figures, hover-to-step on the curves, the
// compare table, start-point reset on a landscape change, the phase diagram kept in step
// with the simulator (cheap parameters at once, sweep-changing ones debounced), copy link,
// export (CSV / PNG / SVG) and remembering the settings for the recipes page.
//
// It acts only on a page that has <div class="gc-sim-tools" data-for="<simulator id>">.

import { getRuntime } from "./runtime.js";
import { download, el, onEveryPage, reducedMotion, waitForDemo } from "./dom.js";
import { composeSVG, composePNG } from "./export.js";
import { PhaseLink, compareTable, stepReadout } from "./simulator-parts.js";

const STORE_KEY = "gradclip:simulator";
const LOOP_SECONDS = 6;                     // one pass of the marker at 1× speed
const MIN_STEPS_PER_S = 4;
const END_HOLD_S = 0.8;                     // the marker rests on the last step before looping
const SPEEDS = [["0.25", "¼×"], ["0.5", "½×"], ["1", "1×"], ["2", "2×"], ["4", "4×"]];

let current = null;   // the page instance of the page being shown (instant navigation)

// ---------- small helpers ----------

// ---------- the page ----------

class SimulatorPage {
  constructor(tools, demo, phaseRoot) {
    this.tools = tools;
    this.demo = demo;
    this.root = demo.root;
    this.phaseRoot = phaseRoot;
    this.phase = null;
    this.presets = [];
    this.activePreset = null;
    this.index = 0;            // marker position (float while playing)
    this.last = 0;             // last step index of the run (steps actually taken)
    this.playing = false;
    this.userPaused = false;
    this.hovering = false;
    this.hold = 0;
    this.speed = 1;
    this.raf = 0;
    this.prevT = 0;
    this.visible = true;
    this.cleanups = [];
    this.build();
    this.bindDemo();
    if (phaseRoot) waitForDemo(phaseRoot).then((p) => this.bindPhase(p)).catch(() => {});
    this.remember();
    this.root.gcSimulator = this;    // for tests and the console: marker, presets, play()
    if (demo.output) this.onOutput(demo.output);
  }

  on(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.cleanups.push(() => target.removeEventListener(type, fn, opts));
  }

  // --- the toolbar: presets, playback, sharing ---
  build() {
    const t = this.tools;
    t.replaceChildren();
    t.classList.add("gc-sim-ready");
    this.presetBox = el("div", { class: "gc-sim-presets", role: "group", "aria-label": "Presets" },
      el("span", { class: "gc-sim-label", text: "Presets" }),
      el("span", { class: "gc-sim-wait", text: "loading…" }));
    this.story = el("p", { class: "gc-sim-story", "aria-live": "polite" });

    this.playBtn = el("button", { type: "button", class: "gc-sim-btn", "data-act": "play", "aria-pressed": "false" }, "Play");
    const back = el("button", { type: "button", class: "gc-sim-btn", "data-act": "back", "aria-label": "Step back" }, "◀ Step");
    const fwd = el("button", { type: "button", class: "gc-sim-btn", "data-act": "step", "aria-label": "Step forward" }, "Step ▶");
    const reset = el("button", { type: "button", class: "gc-sim-btn", "data-act": "reset", "aria-label": "Reset the marker to the start" }, "Reset");
    this.speedSel = el("select", { "data-act": "speed", id: `${this.root.id}-speed` },
      ...SPEEDS.map(([v, label]) => el("option", { value: v, selected: v === "1" }, label)));
    const speedLab = el("label", { class: "gc-sim-speed", for: this.speedSel.id }, "Speed ", this.speedSel);
    this.scrub = el("input", { type: "range", min: 0, max: 1, step: 1, value: 0, "data-act": "scrub",
      id: `${this.root.id}-scrub`, "aria-label": "Marker step" });
    const scrubLab = el("label", { class: "gc-sim-scrub", for: this.scrub.id }, "Step ", this.scrub);
    this.readout = el("output", { class: "gc-sim-readout", for: this.scrub.id, "aria-live": "off" });
    const player = el("div", { class: "gc-sim-player", role: "group", "aria-label": "Playback of the run" },
      this.playBtn, back, fwd, reset, speedLab, scrubLab, this.readout);

    this.shareStatus = el("span", { class: "gc-sim-status", role: "status", "aria-live": "polite" });
    const share = el("div", { class: "gc-sim-share", role: "group", "aria-label": "Share and export" },
      el("button", { type: "button", class: "gc-sim-btn", "data-act": "copy" }, "Copy link"),
      el("button", { type: "button", class: "gc-sim-btn", "data-act": "csv" }, "Export CSV"),
      el("button", { type: "button", class: "gc-sim-btn", "data-act": "png" }, "PNG"),
      el("button", { type: "button", class: "gc-sim-btn", "data-act": "svg" }, "SVG"),
      this.shareStatus);
    this.linkBox = el("input", { type: "text", class: "gc-sim-link", readonly: true, "aria-label": "Link to these settings", hidden: true });
    share.append(this.linkBox);

    t.append(this.presetBox, this.story, player, share);
    // Inside the demo, between its controls and its figures.
    const body = this.root.querySelector(".gc-body");
    if (body) this.root.insertBefore(t, body);

    this.compareBox = el("div", { class: "gc-sim-compare", hidden: true });
    const figs = this.root.querySelector(".gc-figures");
    if (figs) figs.after(this.compareBox);

    this.on(t, "click", (e) => {
      const b = e.target.closest("button");
      if (!b || !t.contains(b)) return;
      const act = b.dataset.act;
      if (b.dataset.preset) this.applyPreset(b.dataset.preset);
      else if (act === "play") this.togglePlay();
      else if (act === "step") this.stepBy(1);
      else if (act === "back") this.stepBy(-1);
      else if (act === "reset") this.reset();
      else if (act === "copy") this.copyLink();
      else if (act === "csv" || act === "svg") this.exportData(act);
      else if (act === "png") this.exportPNG();
    });
    this.on(this.speedSel, "change", () => { this.speed = Number(this.speedSel.value) || 1; });
    this.on(this.scrub, "input", () => { this.pause(true); this.show(Number(this.scrub.value)); });
  }

  // --- the demo: events, landscape reset, hover-to-step ---
  bindDemo() {
    const root = this.root;
    // A new landscape starts from its own start point: intercept the select before demos.js
    // (capture phase on the root) so the change is one request, not two.
    this.on(root, "input", (e) => {
      const s = e.target;
      if (!(s instanceof HTMLSelectElement) || s.dataset.param !== "landscape") return;
      e.stopPropagation();
      this.demo.setParams({ landscape: s.value, px: null, py: null });
    }, true);
    this.on(root, "gc:params", (e) => this.onParams(e.detail));
    this.on(root, "gc:output", (e) => this.onOutput(e.detail.output));
    for (const name of ["loss", "norm"]) {
      const canvas = root.querySelector(`[data-figure="${name}"] canvas`);
      if (!canvas) continue;
      this.on(canvas, "pointermove", (e) => this.hoverStep(name, canvas, e));
      this.on(canvas, "pointerleave", () => { this.hovering = false; this.show(this.index); });
    }
    const io = new IntersectionObserver((entries) => {
      this.visible = entries.some((en) => en.isIntersecting);
      if (this.visible && this.playing) this.loop();
    });
    io.observe(root);
    this.cleanups.push(() => io.disconnect());
  }

  onParams(detail) {
    this.remember();
    const changed = detail.changed || {};
    if (this.activePreset && !this.matchesPreset(this.activePreset)) this.markPreset(null);
    this.syncPhase(changed);
  }

  onOutput(out) {
    if (!out || !out.extra) return;
    const extra = out.extra;
    if (extra.presets && !this.presets.length) this.buildPresets(extra.presets);
    this.last = Math.max(0, extra.steps_taken ?? this.demo.params.steps);
    this.scrub.max = String(this.last);
    if (this.index > this.last) this.index = this.last;
    this.showCompare(extra.compare);
    this.show(this.index);
    if (!this.started) {
      this.started = true;
      if (!reducedMotion()) this.play();
    }
  }

  // --- presets ---
  buildPresets(list) {
    this.presets = list;
    const buttons = list.map((p) => el("button", {
      type: "button", class: "gc-sim-btn gc-sim-preset", "data-preset": p.name, "aria-pressed": "false",
      title: p.story,
    }, p.label));
    this.presetBox.replaceChildren(el("span", { class: "gc-sim-label", text: "Presets" }), ...buttons);
    const match = list.find((p) => this.matchesPreset(p.name));
    if (match) this.markPreset(match.name, false);
  }

  matchesPreset(name) {
    const p = this.presets.find((q) => q.name === name);
    if (!p) return false;
    const cur = this.demo.params;
    return Object.entries(p.params).every(([k, v]) => (v === null ? cur[k] === null || cur[k] === undefined : cur[k] === v));
  }

  markPreset(name, tell = true) {
    this.activePreset = name;
    for (const b of this.presetBox.querySelectorAll("[data-preset]")) {
      b.setAttribute("aria-pressed", String(b.dataset.preset === name));
    }
    const p = this.presets.find((q) => q.name === name);
    if (tell || !p) this.story.textContent = p ? p.story : "";
  }

  applyPreset(name) {
    const p = this.presets.find((q) => q.name === name);
    if (!p) return;
    this.demo.setParams({ ...p.params });
    this.markPreset(name);
    this.index = 0;
    this.userPaused = false;
    if (!reducedMotion()) this.play();
  }

  // --- the marker ---
  figures() { return Object.values(this.demo.figures || {}); }

  show(i) {
    const step = Math.max(0, Math.min(this.last, Math.floor(i)));
    for (const f of this.figures()) f.setMarker(step);
    this.scrub.value = String(step);
    this.root.dataset.marker = String(step);
    this.readout.textContent = stepReadout(this.demo.output, step, this.demo.params.steps, this.last);
  }

  play() {
    this.playing = true;
    this.playBtn.textContent = "Pause";
    this.playBtn.setAttribute("aria-pressed", "true");
    if (this.index >= this.last) this.index = 0;
    this.loop();
  }

  pause(byUser = false) {
    this.playing = false;
    if (byUser) this.userPaused = true;
    this.playBtn.textContent = "Play";
    this.playBtn.setAttribute("aria-pressed", "false");
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  togglePlay() {
    if (this.playing) this.pause(true);
    else { this.userPaused = false; this.play(); }
  }

  stepBy(d) {
    this.pause(true);
    this.index = Math.max(0, Math.min(this.last, Math.floor(this.index) + d));
    this.show(this.index);
  }

  reset() {
    this.pause(true);
    this.index = 0;
    this.show(0);
  }

  loop() {
    if (this.raf || !this.playing) return;
    this.prevT = 0;
    const tick = (t) => {
      this.raf = 0;
      if (!this.playing || !this.visible || !this.root.isConnected) return;
      const dt = this.prevT ? Math.min(0.1, (t - this.prevT) / 1000) : 0;
      this.prevT = t;
      if (!this.hovering) {
        if (this.index >= this.last) {
          this.hold += dt;
          if (this.hold >= END_HOLD_S) { this.hold = 0; this.index = 0; }
        } else {
          const rate = Math.max(this.last / LOOP_SECONDS, MIN_STEPS_PER_S) * this.speed;
          this.index = Math.min(this.last, this.index + rate * dt);
        }
        this.show(this.index);
      }
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  // Hovering a curve puts the marker of all three figures on the step under the pointer.
  hoverStep(name, canvas, e) {
    const ctrl = this.demo.figures && this.demo.figures[name];
    const g = ctrl && ctrl.layout;
    if (!g) return;
    const r = canvas.getBoundingClientRect();
    const fx = ((e.clientX - r.left) * g.width) / r.width;
    const fy = ((e.clientY - r.top) * g.height) / r.height;
    const inside = fx >= g.left && fx <= g.left + g.pw && fy >= g.top && fy <= g.top + g.ph;
    if (!inside) { if (this.hovering) { this.hovering = false; this.show(this.index); } return; }
    const step = Math.round(g.dx(fx));
    if (!(step >= 0)) return;
    this.hovering = true;
    this.show(Math.min(step, this.last));
  }

  // --- compare table ---
  showCompare(rows) {
    const box = this.compareBox;
    if (!rows || !rows.length) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(compareTable(rows));
    box.hidden = false;
  }

  // --- the phase diagram: kept in step with the simulator, and setting it ---
  bindPhase(phase) {
    if (!this.root.isConnected) return;
    this.phase = new PhaseLink(this.demo, phase, (t, type, fn) => this.on(t, type, fn));
  }

  syncPhase(changed) {
    if (this.phase) this.phase.follow(changed);
  }

  // --- sharing ---
  remember() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({ ...this.demo.params, savedAt: new Date().toISOString() }));
    } catch { /* storage off (private mode): nothing to remember */ }
  }

  status(text) {
    this.shareStatus.textContent = text;
  }

  async copyLink() {
    // demos.js may write the address lazily (debounced); make it current first.
    if (typeof this.demo.flushURL === "function") this.demo.flushURL();
    const url = location.href;
    this.tools.dataset.link = url;
    try {
      await navigator.clipboard.writeText(url);
      this.linkBox.hidden = true;
      this.status("Link copied.");
    } catch {
      // No clipboard permission: show the link, selected, for the reader to copy.
      this.linkBox.value = url;
      this.linkBox.hidden = false;
      this.linkBox.focus();
      this.linkBox.select();
      this.status("Copy the selected link.");
    }
  }

  fileStem() {
    const p = this.demo.params;
    return `gradclip-${p.landscape}-${p.method}-tau${p.tau}-lr${p.lr}-${p.optimizer}-${p.steps}`;
  }

  async exportData(kind) {
    this.status(`Preparing ${kind.toUpperCase()}…`);
    let out;
    try {
      out = await getRuntime().request("simulator_export", { ...this.demo.params }).promise;
    } catch (err) {
      this.status(`Export failed: ${err.message}`);
      return;
    }
    if (kind === "csv") {
      download(new Blob([out.extra.csv], { type: "text/csv" }), `${this.fileStem()}.csv`);
      this.status("CSV downloaded.");
      return;
    }
    // The package's own SVG writer ran in the worker: real vector figures, one per box.
    const svgs = out.extra.svg || {};
    if (!Object.keys(svgs).length) { this.status("Export failed: the runtime wrote no SVG."); return; }
    download(new Blob([composeSVG(this.root, svgs)], { type: "image/svg+xml" }), `${this.fileStem()}.svg`);
    this.status("SVG downloaded.");
  }

  async exportPNG() {
    const blob = await composePNG(this.root);
    if (!blob) { this.status(blob === null ? "PNG export failed." : "The figures are not live yet."); return; }
    download(blob, `${this.fileStem()}.png`);
    this.status("PNG downloaded.");
  }

  destroy() {
    this.pause();
    if (this.phase) this.phase.destroy();
    for (const fn of this.cleanups.splice(0)) fn();
  }
}

// ---------- binding, on every page Material shows ----------

function bindPage() {
  if (current && !current.root.isConnected) { current.destroy(); current = null; }
  const tools = document.querySelector(".gc-sim-tools[data-for]:not([data-bound])");
  if (!tools) return;
  tools.dataset.bound = "true";
  const root = document.getElementById(tools.dataset.for);
  const phaseRoot = tools.dataset.phase ? document.getElementById(tools.dataset.phase) : null;
  waitForDemo(root)
    .then((demo) => { current = new SimulatorPage(tools, demo, phaseRoot); })
    .catch((err) => console.error("simulator page:", err));
}

onEveryPage(bindPage);
