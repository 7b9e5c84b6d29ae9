// The one Python runtime of a visit: a module Web Worker hosting Pyodide, NumPy and the
// gradclip wheel. runtime.js creates it once; every demo on every page talks to it.
//
// Protocol (ARCHITECTURE.md §3):
//   in:  {type: "init", base}                         base = the site's root URL
//        {type: "run", id, demo, params}               compute a demo (streams if the demo does)
//        {type: "cancel", id}                          stop a streaming run between two chunks
//   out: {type: "status", stage, detail}              runtime | numpy | gradclip | ready | error
//        {type: "partial" | "result", id, output}      output = gradclip.demos.run() as a dict
//                                                      (from gradclip/web.py's Session.stream);
//                                                      a figure item with a `key` sent before is
//                                                      {t, key, ref: true} (runtime.js restores it)
//        {type: "error", id, message}                  a run failed; the runtime still works

let pyodide = null;
let session = null;          // gradclip.web.Session: stream(demo, params_json) -> step()
let ready = null;            // Promise, resolved once everything is loaded
const cancelled = new Set();

const post = (msg) => self.postMessage(msg);
const status = (stage, detail) => post({ type: "status", stage, detail });

async function fetchOk(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url} answered ${resp.status} ${resp.statusText}`);
  return resp;
}

async function load(base) {
  const pyodideURL = new URL("assets/pyodide/", base).href;
  status("runtime", "Loading the Python runtime (Pyodide)…");
  let mod;
  try {
    mod = await import(pyodideURL + "pyodide.mjs");
  } catch (err) {
    throw new Error(`the Python runtime files are missing or unreadable (${pyodideURL}pyodide.mjs): ${err.message || err}`);
  }
  // When pyodide.asm.wasm cannot be downloaded, Pyodide 0.27 logs "wasm instantiation failed!"
  // and its promise never settles: the failure only surfaces as an unhandled rejection in this
  // worker. Race it, so the demos say what went wrong instead of loading forever.
  let onRejection;
  const failure = new Promise((_, reject) => {
    onRejection = (event) => {
      event.preventDefault();
      const why = (event.reason && event.reason.message) || String(event.reason);
      reject(new Error(`the Python runtime (pyodide.asm.wasm) could not be downloaded or started: ${why}`));
    };
    self.addEventListener("unhandledrejection", onRejection);
  });
  try {
    pyodide = await Promise.race([
      mod.loadPyodide({ indexURL: pyodideURL, stdout: () => {}, stderr: () => {} }),
      failure,
    ]);
  } finally {
    self.removeEventListener("unhandledrejection", onRejection);
  }

  status("numpy", "Loading NumPy…");
  // contourpy draws the contour lines of the landscapes; both come from this site, in parallel.
  await pyodide.loadPackage(["numpy", "contourpy"], { messageCallback: () => {}, errorCallback: () => {} });
  pyodide.runPython("import numpy");

  status("gradclip", "Loading gradclip…");
  const manifest = await (await fetchOk(new URL("assets/wheels/manifest.json", base))).json();
  // The sha256 in the query makes a rebuilt wheel a new URL, so no stale cache is used.
  const wheelURL = new URL(`assets/wheels/${manifest.wheel}?v=${manifest.sha256.slice(0, 12)}`, base);
  const wheel = await (await fetchOk(wheelURL)).arrayBuffer();
  pyodide.unpackArchive(wheel, "wheel");
  // The Python side (layer de-duplication, loading every demo, freezing the collector) is
  // gradclip/web.py, so the CPython tests run exactly what this worker runs.
  session = pyodide.runPython("import gradclip.web; gradclip.web.prepare()");
  status("ready", `gradclip ${manifest.version} is running in your browser.`);
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

async function run({ id, demo, params }) {
  let step;
  try {
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
  } catch (err) {
    console.error(err);
    post({ type: "error", id, message: lastLine(err) });
  } finally {
    if (step && step.destroy) step.destroy();
  }
}

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
  if (msg.type === "run") {
    try { await ready; } catch { post({ type: "error", id: msg.id, message: "the Python runtime did not load" }); return; }
    await run(msg);
  }
};
