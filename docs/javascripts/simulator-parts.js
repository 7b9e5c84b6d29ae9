// Pieces of the simulator page that stand on their own: the marker's read-out, the compare
// table and the link between the simulator and its phase diagram. simulator.js builds the page from them.

import { el } from "./dom.js";
import { formatNumber } from "./format.js";

const SHARED = ["tau", "lr", "steps", "method", "landscape", "optimizer"];
const CHEAP = ["tau", "lr"];                // the phase map only moves its marker
// The phase map shares the one worker with the simulator, and a request posted first is
// computed first: the map follows only once a slider rests, so the simulator's own redraw
// never waits behind it. A new sweep (steps, method, ...) is costlier and waits longer.
const MARKER_DEBOUNCE_MS = 120;
const SWEEP_DEBOUNCE_MS = 350;

const pick = (obj, keys) => Object.fromEntries(keys.filter((k) => k in obj).map((k) => [k, obj[k]]));

/** The marker's read-out: "step 12 of 200 · loss 0.5 · ‖g‖ 3.2" (numbers as Python writes them). */
export function stepReadout(output, step, steps, last) {
  const marker = (name) => {
    const fig = output && output.figures && output.figures[name];
    const line = fig && fig.items.find((it) => it.t === "line" && it.marker);
    return line ? line.y[step] : undefined;
  };
  const num = (x) => (x === null ? "—" : formatNumber(x));   // null: a non-finite value in JSON
  const loss = marker("loss");
  const norm = marker("norm");
  const parts = [`step ${step} of ${steps}`];
  if (loss !== undefined) parts.push(`loss ${num(loss)}`);
  if (norm !== undefined && step < last) parts.push(`‖g‖ ${num(norm)}`);
  return parts.join(" · ");
}

/** The compare-mode table: one row per clipping method, from the simulator's extra.compare. */
export function compareTable(rows) {
  const head = el("tr", {}, ...["Method", "Final loss", "Clip events", "Divergence", "Verdict"]
    .map((h) => el("th", { scope: "col", text: h })));
  const body = rows.map((row) => el("tr", { "data-method": row.method },
    el("th", { scope: "row" }, el("span", { class: `gc-sim-swatch gc-sw-${row.color}`, "aria-hidden": "true" }), ` ${row.label}`),
    ...["final_loss", "clip_events", "diverged", "verdict"].map((k) => el("td", {
      // not data-result: demos.js fills every [data-result] in the demo with the main run
      "data-compare": k, "data-value": row.results[k].value, text: row.results[k].text,
    }))));
  return el("table", { class: "gc-sim-compare-table" },
    el("caption", { text: "Compare mode: the same settings with each clipping method" }),
    el("thead", {}, head), el("tbody", {}, ...body));
}

/**
 * Keeps a phase diagram (a demo) in step with the simulator (a demo): the simulator's shared
 * parameters reach the map debounced; a click on the map sets the simulator at once.
 * `on(target, type, fn)` registers a listener the page removes when it goes.
 */
export class PhaseLink {
  constructor(sim, phase, on) {
    this.sim = sim;
    this.phase = phase;
    this.timer = 0;
    this.pendingSweep = false;
    phase.setParams(pick(sim.params, SHARED), { silent: true });
    on(phase.root, "gc:params", (e) => {
      const changed = pick(e.detail.changed || {}, SHARED);
      const differs = Object.fromEntries(Object.entries(changed).filter(([k, v]) => sim.params[k] !== v));
      if (!Object.keys(differs).length) return;
      if ("landscape" in differs) Object.assign(differs, { px: null, py: null });
      sim.setParams(differs);
    });
  }

  /** The simulator's parameters changed (`changed`): update the map once things rest. */
  follow(changed) {
    const keys = Object.keys(pick(changed, SHARED));
    if (!keys.length) return;
    const sweep = keys.some((k) => !CHEAP.includes(k));
    // One timer: a pending sweep is never shortened to the marker's delay.
    if (this.timer && this.pendingSweep && !sweep) return;
    clearTimeout(this.timer);
    this.pendingSweep = sweep;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.pendingSweep = false;
      if (this.sim.root.isConnected) this.phase.setParams(pick(this.sim.params, SHARED), { silent: true });
    }, sweep ? SWEEP_DEBOUNCE_MS : MARKER_DEBOUNCE_MS);
  }

  destroy() { clearTimeout(this.timer); }
}
