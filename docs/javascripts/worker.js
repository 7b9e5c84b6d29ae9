// The one Python runtime of a visit: a module Web Worker hosting Pyodide, NumPy and the
// gradclip wheel. runtime.js creates it once; every demo on every page talks to it.
//
// Protocol (ARCHITECTURE.md §3):
//   in:  {type: "init", base}                         base = the site's root URL
//        {type: "run", id, demo, params}               compute a demo (streams if the demo does)
//        {type: "cancel", id}                          stop a streaming run between two chunks
//        {type: "cell", id, payload}                   run a code cell (gradclip/web.py Session.cell)
//   out: {type: "status", stage, detail, interrupt?}  runtime | gradclip | ready | error; with
//                                                      cross-origin isolation, "ready" carries the
//                                                      interrupt buffer (an Int32Array on shared memory)
//        {type: "partial" | "result", id, output}      output = gradclip.demos.run() as a dict, or for a
//                                                      cell {stream, text} chunks, then its CellResult
//                                                      (from gradclip/web.py's Session.stream);
//                                                      a figure item with a `key` sent before is
//                                                      {t, key, ref: true} (runtime.js restores it)
//        {type: "error", id, message}                  a run failed; the runtime still works
//        {type: "fatal", id, culprit, message}         Python died (in this run, or before it);
//                                                      the page replaces this worker

import { PYODIDE_PACKAGES } from "./generated.js";

let pyodide = null;
let session = null;          // gradclip.web.Session: stream(demo, params_json) -> step()
let ready = null;            // Promise, resolved once everything is loaded
let interrupt = null;        // Pyodide's interrupt buffer, where shared memory exists
const cancelled = new Set();

const post = (msg) => self.postMessage(msg);
const status = (stage, detail) => post({ type: "status", stage, detail });

// A file of the site, read whole; every failure (refused, 404, cut short) names the file.
async function fetchSiteFile(url, read) {
  const name = new URL(url).pathname.split("/").pop();
  try {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`the server answered ${resp.status} ${resp.statusText}`.trim());
    return await read(resp);
  } catch (err) {
    throw new Error(`${name} could not be downloaded (${err.message || err})`);
  }
}

// Pyodide 0.27 reports some download failures only on the console and then waits for ever:
// a pyodide.asm.wasm that cannot be fetched or compiled ("wasm instantiation failed!") and a
// standard library that cannot be installed. Watching those two messages while loading turns
// each into an error at once, with no timeout to tune. Other failures reject a promise (kept
// as unhandled rejections inside Pyodide) or throw, and are caught the same way.
const SILENT_FAILURES = [
  ["wasm instantiation failed", "the Python runtime (pyodide.asm.wasm) could not be downloaded or compiled"],
  ["installing the standard library", "Python's standard library (python_stdlib.zip) could not be downloaded"],
];

function watchLoading() {
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  const says = (args) => args.map((a) => (a && a.message) || String(a)).join(" ");
  const { warn, error } = console;
  let pending = null;   // a recognised first line; its cause is the next console message
  const hook = (original) => (...args) => {
    original.apply(console, args);
    const text = says(args);
    if (pending) { fail(new Error(`${pending}: ${text}`)); pending = null; return; }
    const known = SILENT_FAILURES.find(([needle]) => text.includes(needle));
    if (known) pending = known[1];
  };
  console.warn = hook(warn);
  console.error = hook(error);
  const onRejection = (event) => {
    event.preventDefault();
    const why = (event.reason && event.reason.message) || String(event.reason);
    fail(new Error(`the Python runtime could not be downloaded or started: ${why}`));
  };
  self.addEventListener("unhandledrejection", onRejection);
  const stop = () => {
    console.warn = warn;
    console.error = error;
    self.removeEventListener("unhandledrejection", onRejection);
  };
  failed.catch(() => {});
  return { failed, stop };
}

// Whichever settles first: the step, or a failure the watcher saw.
const orFailure = (watch, promise) => Promise.race([promise, watch.failed]);

async function load(base) {
  const pyodideURL = new URL("assets/pyodide/", base).href;
  status("runtime", "Loading the Python runtime (Pyodide) and NumPy…");
  // Everything starts at once: the gradclip wheel (through its manifest) downloads while
  // Pyodide boots, and NumPy is named in loadPyodide's `packages`, so Pyodide fetches it
  // while its own runtime starts instead of after.
  const wheel = fetchWheel(base);
  wheel.catch(() => {});     // awaited below; a failure must not be an unhandled rejection first
  let mod;
  try {
    mod = await import(pyodideURL + "pyodide.mjs");
  } catch (err) {
    throw new Error(`the Python runtime files are missing or unreadable (${pyodideURL}pyodide.mjs): ${err.message || err}`);
  }
  const watch = watchLoading();
  try {
    await loadPython(pyodideURL, mod, watch);
  } finally {
    watch.stop();
  }
  status("gradclip", "Loading gradclip…");
  const { manifest, bytes } = await wheel;
  pyodide.unpackArchive(bytes, "wheel");
  // The Python side (layer de-duplication, which demo modules to import when) is
  // gradclip/web.py, so the CPython tests run exactly what this worker runs.
  session = pyodide.runPython("import gradclip.web; gradclip.web.prepare()");
  interrupt = interruptBuffer();
  post({ type: "status", stage: "ready", detail: `gradclip ${manifest.version} is running in your browser.`, interrupt });
}

// Shared memory exists only in a cross-origin isolated context (a page served with COOP and
// COEP headers, which the service worker adds where the host cannot). There, the page can stop
// a running cell by writing SIGINT into this buffer, which Python checks between bytecodes.
function interruptBuffer() {
  if (!self.crossOriginIsolated || typeof SharedArrayBuffer === "undefined") return null;
  const buffer = new Int32Array(new SharedArrayBuffer(4));
  pyodide.setInterruptBuffer(buffer);
  return buffer;
}

async function fetchWheel(base) {
  const manifest = await fetchSiteFile(new URL("assets/wheels/manifest.json", base), (r) => r.json());
  // The sha256 in the query makes a rebuilt wheel a new URL, so no stale cache is used.
  const url = new URL(`assets/wheels/${manifest.wheel}?v=${manifest.sha256.slice(0, 12)}`, base);
  return { manifest, bytes: await fetchSiteFile(url, (r) => r.arrayBuffer()) };
}

// The Pyodide packages the demos need, each with the name a reader knows it by.
const PACKAGES = Object.fromEntries(PYODIDE_PACKAGES.map((name) => [name, name === "numpy" ? "NumPy" : name]));

async function loadPython(pyodideURL, mod, watch) {
  // Pyodide reads its lock file with a bare JSON parse, so a missing one surfaces as "Unexpected
  // token '<'". The same file, read here beside it, gives the failure a name.
  const lock = fetchSiteFile(pyodideURL + "pyodide-lock.json", (r) => r.json());
  lock.catch(() => {});
  // Whatever went wrong, the first file that cannot be had is the plainest explanation.
  const named = async (fallback) => {
    try { await lock; } catch (err) { return err; }
    return (await missingPackage(pyodideURL, await lock)) || fallback;
  };
  try {
    pyodide = await orFailure(watch, mod.loadPyodide({
      indexURL: pyodideURL, packages: Object.keys(PACKAGES), stdout: () => {}, stderr: () => {},
    }));
  } catch (err) {
    throw await named(err);
  }
  // A wheel that could not be fetched does not make loadPyodide fail: it is only missing.
  const absent = Object.keys(PACKAGES).find((name) => !pyodide.loadedPackages[name]);
  if (absent) throw await named(new Error(`${PACKAGES[absent]} could not be downloaded from ${pyodideURL}`));
  pyodide.runPython("import numpy");
}

// The first package wheel of the lock file that cannot be downloaded, as an error naming it.
async function missingPackage(pyodideURL, lock) {
  for (const [name, label] of Object.entries(PACKAGES)) {
    const file = lock.packages && lock.packages[name] && lock.packages[name].file_name;
    if (!file) return new Error(`${label} is not in the runtime's package list (pyodide-lock.json)`);
    try {
      await fetchSiteFile(pyodideURL + file, (r) => r.arrayBuffer());
    } catch (err) {
      return new Error(`${label} could not be downloaded: ${err.message}`);
    }
  }
  return null;
}

// One round through the event loop: messages already queued (a "cancel") are handled first.
const loopback = new MessageChannel();
const waiting = [];
loopback.port1.onmessage = () => waiting.shift()();
const yieldToEvents = () => new Promise((resolve) => { waiting.push(resolve); loopback.port2.postMessage(null); });

function lastLine(err) {
  // A Python traceback's last line says what went wrong; the rest is for the console.
  const text = String((err && err.message) || err);
  const lines = text.trim().split("\n");
  return lines[lines.length - 1];
}

// After a fatal error (a JavaScript stack overflow inside Python, out of memory) Pyodide
// refuses its public API, although some calls may still seem to work on a broken state.
// Reading one property is the cheapest way to ask.
function pythonAlive() {
  try { return pyodide.globals !== undefined; } catch { return false; }
}

// Every request (a demo's run, a code cell) goes through here. Python is asked before and after
// it: the page replaces a worker whose Python died, and `culprit` says whether this request killed
// it (so the same input is not simply sent again). `body` posts the outputs; `cleanup` frees
// what it made, if Python is still there to free it.
async function guarded(id, body, cleanup = () => {}) {
  if (!pythonAlive()) {
    post({ type: "fatal", id, culprit: false, message: "an earlier fatal error" });
    return;
  }
  let failure = null;
  try {
    if (interrupt) interrupt[0] = 0;     // a Stop that came too late for its cell is not this run's
    await body();
  } catch (err) {
    console.error(err);
    failure = err;
  } finally {
    try { cleanup(); } catch { /* a dead Pyodide refuses even this: nothing left to free */ }
    if (!pythonAlive()) post({ type: "fatal", id, culprit: true, message: failure ? lastLine(failure) : "a fatal error" });
    else if (failure) post({ type: "error", id, message: lastLine(failure) });
  }
}

function run({ id, demo, params }) {
  let step;
  return guarded(id, async () => {
    step = session.stream(demo, JSON.stringify(params || {}));
    for (;;) {
      if (cancelled.has(id)) { cancelled.delete(id); return; }
      const json = step();
      if (json === undefined || json === null) return;
      const output = JSON.parse(json);
      const done = output.done !== false;
      post({ type: done ? "result" : "partial", id, output });
      if (done) return;
      // Yield to the event loop so a "cancel" (or a newer run) can arrive between chunks.
      // A message to ourselves, not setTimeout(0): chained timeouts are clamped to 4 ms each,
      // which a demo streaming ten outputs a second would spend idle.
      await yieldToEvents();
    }
  }, () => { if (step && step.destroy) step.destroy(); });
}

// A code cell runs to its end in one call; what it prints is posted as it goes (the Python side
// batches it), so a long cell shows its progress. Stopping it is the page's job (the interrupt
// buffer, or a fresh worker).
function runCell({ id, payload }) {
  if (cancelled.has(id)) { cancelled.delete(id); return Promise.resolve(); }
  return guarded(id, () => {
    const write = (stream, text) => post({ type: "partial", id, output: { stream, text } });
    const json = session.cell(JSON.stringify(payload), write);
    post({ type: "result", id, output: JSON.parse(json) });
  });
}

// A handle for debugging from the browser's console (and for the tests that break Python on
// purpose): self.gradclip.pyodide is this worker's Pyodide, self.gradclip.ready its loading.
self.gradclip = {
  get pyodide() { return pyodide; },
  get ready() { return ready; },
};

self.onmessage = async (event) => {
  const msg = event.data || {};
  if (msg.type === "init") {
    if (!ready) {
      ready = load(msg.base).catch((err) => {
        status("error", String((err && err.message) || err));
        throw err;
      });
    }
    return;
  }
  if (msg.type === "cancel") { cancelled.add(msg.id); return; }
  if (msg.type === "run" || msg.type === "cell") {
    active += 1;
    try {
      try { await ready; } catch { post({ type: "error", id: msg.id, message: "the Python runtime did not load" }); return; }
      await (msg.type === "run" ? run(msg) : runCell(msg));
    } finally {
      active -= 1;
      if (active === 0) setTimeout(whenIdle, IDLE_MS);
    }
  }
};

// The first demo ran as soon as its own module was imported (gradclip.web imports lazily); the
// other demo modules are imported once the worker has nothing to do, and the collector is
// frozen again then (gradclip/web.py says why), so a later demo starts without the import.
let active = 0;              // runs received and not finished
let warmed = false;
const IDLE_MS = 50;          // a page asks for all its demos at once: let the burst arrive first
function whenIdle() {
  if (warmed || active > 0 || !pythonAlive()) return;
  warmed = true;
  try {
    pyodide.runPython("gradclip.web.idle()").destroy();
  } catch (err) {
    console.error(err);      // a broken demo module fails its own runs, not the runtime
  }
}
