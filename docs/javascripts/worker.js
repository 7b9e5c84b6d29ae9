// The one Python runtime of a visit: a module Web Worker hosting Pyodide, NumPy and the
// gradclip wheel. runtime.js creates it once; every demo on every page talks to it.
//
// Protocol (ARCHITECTURE.md §3):
//   in:  {type: "init", base}                         base = the site's root URL
//        {type: "run", id, demo, params}               compute a demo (streams if the demo does)
//        {type: "cancel", id}                          stop a streaming run between two chunks
//   out: {type: "status", stage, detail}              runtime | numpy | gradclip | ready | error
//        {type: "partial" | "result", id, output}      output = gradclip.demos.run() as a dict
//        {type: "error", id, message}                  a run failed; the runtime still works

let pyodide = null;
let stream = null;           // Python: (demo, params_json) -> step() returning JSON or None
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
  pyodide = await mod.loadPyodide({ indexURL: pyodideURL, stdout: () => {}, stderr: () => {} });

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
  stream = pyodide.runPython(`
import json
import gradclip.demos as _demos

def _gc_stream(name, params_json):
    it = _demos.run_iter(name, json.loads(params_json))
    def step():
        try:
            out = next(it)
        except StopIteration:
            return None
        except _demos.DemoInputError as exc:
            return json.dumps({"demo": name, "input_error": str(exc), "done": True})
        return json.dumps(out, allow_nan=False)
    return step

_gc_stream
`);
  status("ready", `gradclip ${manifest.version} is running in your browser.`);
}

function lastLine(err) {
  // A Python traceback's last line says what went wrong; the rest is for the console.
  const text = String((err && err.message) || err);
  const lines = text.trim().split("\n");
  return lines[lines.length - 1];
}

async function run({ id, demo, params }) {
  let step;
  try {
    step = stream(demo, JSON.stringify(params || {}));
    for (;;) {
      if (cancelled.has(id)) { cancelled.delete(id); return; }
      const json = step();
      if (json === undefined || json === null) return;
      const output = JSON.parse(json);
      const done = output.done !== false;
      post({ type: done ? "result" : "partial", id, output });
      if (done) return;
      // Yield to the event loop so a "cancel" (or a newer run) can arrive between chunks.
      await new Promise((r) => setTimeout(r, 0));
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
