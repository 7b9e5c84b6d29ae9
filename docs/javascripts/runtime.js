// One Python runtime per visit. Material's instant navigation swaps page content without
// reloading scripts, so the worker created here lives for the whole visit: a second page
// reuses it and never downloads Pyodide again. The singleton sits on globalThis so even a
// second copy of this module (another URL for the same file) finds it.

const KEY = "__gradclipRuntime";
export const STAGES = ["runtime", "gradclip", "ready"];

class Runtime {
  constructor() {
    this.worker = null;
    this.stage = "idle";          // idle | runtime | gradclip | ready | error | restarting
    this.detail = "";
    this.listeners = new Set();
    this.pending = new Map();     // id -> {resolve, reject, onPartial}
    this.nextId = 1;
    this.startedAt = 0;
    this.readyAt = 0;
    this.restarts = 0;            // fresh workers started after Python died
    this.healthy = true;          // false from a restart until the fresh worker computes a result
    // Figure items with a content key (a landscape's shading, a sweep's cells), as the
    // worker sent them: it sends each once per visit, then {t, key, ref: true} in its place.
    // The worker and this map live exactly as long as each other (the whole visit).
    this.layers = new Map();
    this.interruptBuffer = null;  // Int32Array on a SharedArrayBuffer, when the page is isolated
  }

  // The site root: this file is <root>/javascripts/runtime.js.
  get base() { return new URL("../", import.meta.url).href; }

  start() {
    if (this.worker) return;
    this.startedAt = performance.now();
    this.setStage("runtime", "Starting the Python runtime…");
    try {
      this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    } catch (err) {
      this.fail(`This browser could not start a Web Worker: ${err.message || err}`);
      return;
    }
    this.worker.onmessage = (e) => this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      const why = e.message || "the worker script could not run";
      // Before Python is up this is a loading failure; afterwards the worker died under us.
      if (this.stage === "ready") this.crash({ message: why });
      else this.fail(`The Python runtime stopped unexpectedly: ${why}.`);
    };
    this.worker.postMessage({ type: "init", base: this.base });
  }

  // Python died in the worker (a fatal error) or the worker itself did. Every waiting request
  // is rejected (err.crashed says whether it caused the death or was only waiting), the worker
  // is replaced, and the demos recompute once the fresh one is ready. A runtime that dies
  // again before it has computed anything is not restarted a third time.
  crash({ id = null, culprit = false, message = "" }) {
    const why = plainCause(message);
    for (const [pid, p] of this.pending) {
      const err = new Error(`Python stopped (${why})`);
      err.crashed = pid === id && culprit ? "culprit" : "waiting";
      err.why = why;
      p.reject(err);
    }
    this.replaceWorker();
    if (!this.healthy) {
      this.fail(`Python stopped twice in a row (${why}), so it was not started a third time. Reloading the page starts it afresh.`);
      return;
    }
    this.restarts += 1;
    this.healthy = false;
    this.setStage("restarting", `Python stopped (${why}) and was restarted; the live demos were recomputed with their current settings.`);
    this.start();
  }

  fail(message) {
    this.setStage("error", message);
    for (const [, p] of this.pending) p.reject(new Error(message));
    this.pending.clear();
  }

  setStage(stage, detail) {
    this.stage = stage;
    this.detail = detail || "";
    if (stage === "ready" && !this.readyAt) this.readyAt = performance.now();
    for (const fn of this.listeners) fn(stage, this.detail);
  }

  // fn(stage, detail) is called now and on every change; returns an unsubscribe function.
  onStatus(fn) {
    this.listeners.add(fn);
    fn(this.stage, this.detail);
    return () => this.listeners.delete(fn);
  }

  onMessage(msg) {
    if (msg.type === "status") {
      if (msg.interrupt) this.interruptBuffer = msg.interrupt;
      if (msg.stage === "error") this.fail(msg.detail);
      else this.setStage(msg.stage, msg.detail);
      return;
    }
    if (msg.type === "fatal") { this.crash(msg); return; }
    if (msg.type === "result") this.healthy = true;
    // Before anything is dropped: an output nobody waits for may still bring a layer.
    let missing = null;
    if (msg.output) missing = this.restoreLayers(msg.output);
    const p = this.pending.get(msg.id);
    if (!p) return;   // cancelled, or its page is gone
    if (missing) {
      this.pending.delete(msg.id);
      p.reject(new Error(`figure layer ${missing} was referenced but never received`));
      return;
    }
    if (msg.type === "partial") { p.onPartial && p.onPartial(msg.output); return; }
    this.pending.delete(msg.id);
    if (msg.type === "result") p.resolve(msg.output);
    else p.reject(new Error(msg.message));
  }

  // Keep every keyed figure item, and put the kept one in place of each reference (the
  // same object every time, so a painter recognises it). Returns a missing key, or null.
  restoreLayers(output) {
    let missing = null;
    for (const fig of Object.values(output.figures || {})) {
      const items = fig && fig.items;
      if (!items) continue;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        if (!it || typeof it.key !== "string") continue;
        if (!it.ref) { this.layers.set(it.key, it); continue; }
        const kept = this.layers.get(it.key);
        if (kept) items[i] = kept;
        else missing = missing || it.key;
      }
    }
    return missing;
  }

  // Compute a demo. Returns {id, promise, cancel()}; onPartial receives streamed outputs.
  request(demo, params, onPartial) {
    const job = this.send({ type: "run", demo, params }, onPartial);
    const cancel = () => {
      if (!this.pending.has(job.id)) return;
      this.pending.delete(job.id);
      this.worker.postMessage({ type: "cancel", id: job.id });
    };
    return { ...job, cancel };
  }

  // Run a code cell (gradclip/cells.py through gradclip/web.py's Session.cell). onStream
  // receives {stream, text} as the cell prints. Returns {id, promise}; stopCell(id) stops it.
  runCell(payload, onStream) {
    return this.send({ type: "cell", payload }, onStream);
  }

  send(message, onPartial) {
    this.start();
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      if (this.stage === "error") { reject(new Error(this.detail)); return; }
      this.pending.set(id, { resolve, reject, onPartial });
      this.worker.postMessage({ ...message, id });
    });
    return { id, promise };
  }

  // Stop a running cell. With cross-origin isolation (the service worker gives the pages it
  // serves COOP and COEP headers, which GitHub Pages cannot send) the worker shares an
  // interrupt buffer: Python raises KeyboardInterrupt at its next bytecode and keeps every
  // variable. Without one, or if Python does not answer within STOP_GRACE_MS (a long NumPy
  // call checks no buffer), the only way is a fresh worker: the cells' variables are lost and
  // the demos recompute.
  stopCell(id) {
    if (!this.pending.has(id)) return "done";
    if (this.stage !== "ready") {          // still waiting for Python: it simply never runs
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (this.worker) this.worker.postMessage({ type: "cancel", id });
      p.reject(Object.assign(new Error("cancelled before it ran"), { stopped: "cancelled" }));
      return "cancelled";
    }
    if (this.interruptBuffer) {
      Atomics.store(this.interruptBuffer, 0, SIGINT);
      setTimeout(() => { if (this.pending.has(id)) this.restart(id); }, STOP_GRACE_MS);
      return "interrupt";
    }
    this.restart(id);
    return "restart";
  }

  restart(id) {
    const why = "to stop a running code cell";
    for (const [pid, p] of this.pending) {
      const err = new Error(`Python was restarted ${why}`);
      err.stopped = pid === id ? "culprit" : "waiting";
      p.reject(err);
    }
    this.replaceWorker();
    this.setStage("restarting", `Python was restarted ${why}; the live demos were recomputed with their current settings.`);
    this.start();
  }

  replaceWorker() {
    this.pending.clear();
    this.worker.terminate();
    this.worker = null;
    this.interruptBuffer = null;
    this.layers.clear();            // the fresh worker sends every keyed layer again
  }
}

const SIGINT = 2;              // what Pyodide's interrupt buffer takes for KeyboardInterrupt
const STOP_GRACE_MS = 1000;

// What killed Python, in words a reader can use.
function plainCause(message) {
  if (/call stack|recursion/i.test(message)) return "an input nested too deeply ran out of stack";
  if (/memory|allocation/i.test(message)) return "it ran out of memory";
  return message || "a fatal error";
}

export function getRuntime() {
  if (!globalThis[KEY]) globalThis[KEY] = new Runtime();
  return globalThis[KEY];
}
