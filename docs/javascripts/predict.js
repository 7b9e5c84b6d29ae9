// "Predict first": the reader commits to an answer before the linked demo shows what happens.
//
// site_hooks/predict.py writes each exercise as a complete no-JavaScript block (radio buttons,
// the answer in a <details>). This script adds the commitment: it veils the linked demo's
// figures and results (or, for `cell: next`, the output of the code cell after the block) until
// the reader picks, then marks the pick, opens the explanation and lifts the veil. The demo or
// cell is never touched beyond that, so it stays fully usable, and it keeps computing underneath
// the veil (a demo's state still reaches "ready"; a cell still runs).

import { onEveryPage } from "./dom.js";

const STORE = "gradclip:predict:";
// What a prediction hides: anything that would give the answer away.
const HIDDEN = ".gc-figures, .gc-results, .gc-description, [data-cell-output]";

function storageKey(block) {
  return STORE + location.pathname + "#" + block.dataset.key;
}

// The demo the block names, or the first code cell after it in the page.
function target(block) {
  if (block.dataset.for) return document.getElementById(block.dataset.for);
  for (const cell of document.querySelectorAll(".gc-cell")) {
    if (block.compareDocumentPosition(cell) & Node.DOCUMENT_POSITION_FOLLOWING) return cell;
  }
  return null;
}

function remembered(block) {
  try { return sessionStorage.getItem(storageKey(block)); } catch { return null; }
}

function remember(block, value) {
  try { sessionStorage.setItem(storageKey(block), value); } catch { /* private mode: fine */ }
}

function veil(demo, block) {
  if (!demo || demo.classList.contains("gc-predict-veiled")) return;
  demo.classList.add("gc-predict-veiled");
  for (const el of demo.querySelectorAll(HIDDEN)) el.inert = true;
  const note = document.createElement("div");
  note.className = "gc-predict-veil";
  note.setAttribute("role", "note");
  const text = document.createElement("span");
  text.textContent = demo.classList.contains("gc-cell")
    ? "The output stays hidden until you answer the prediction above."
    : "The figures stay hidden until you answer the prediction above.";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Show them anyway";
  button.addEventListener("click", () => { unveil(demo); remember(block, "skipped"); });
  note.append(text, button);
  const figures = demo.querySelector(".gc-figures, [data-cell-output]");
  if (figures) figures.before(note); else demo.prepend(note);
}

function unveil(demo) {
  if (!demo) return;
  demo.classList.remove("gc-predict-veiled");
  for (const el of demo.querySelectorAll(HIDDEN)) el.inert = false;
  for (const el of demo.querySelectorAll(".gc-predict-veil")) el.remove();
  // The canvases were painted under the blur; a resize lets paint.js re-measure if needed.
  window.dispatchEvent(new Event("resize"));
}

function mark(block, picked) {
  const answer = block.dataset.answer;
  for (const label of block.querySelectorAll(".gc-predict-choice")) {
    const c = label.dataset.choice;
    label.classList.toggle("gc-predict-correct", c === answer);
    label.classList.toggle("gc-predict-wrong", c === picked && picked !== answer);
    const input = label.querySelector("input");
    if (input) input.checked = c === picked;
  }
  const feedback = block.querySelector(".gc-predict-feedback");
  if (feedback) {
    feedback.textContent = picked === answer
      ? `Right: ${answer}. `
      : `You chose ${picked}; the answer is ${answer}. `;
    const demo = target(block);
    if (demo) {
      const go = document.createElement("button");
      go.type = "button";
      go.textContent = demo.classList.contains("gc-cell") ? "See it in the code's output" : "See it in the demo";
      go.addEventListener("click", () => demo.scrollIntoView({ behavior: "smooth", block: "start" }));
      feedback.append(go);
    }
  }
  const details = block.querySelector(".gc-predict-answer");
  if (details) details.open = true;
  block.dataset.picked = picked;
}

function bind(block) {
  if (block.dataset.bound) return;
  block.dataset.bound = "true";
  const demo = target(block);
  const before = remembered(block);
  if (before && before !== "skipped") {
    mark(block, before);
  } else if (!before) {
    veil(demo, block);
  }
  block.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") return;
    mark(block, input.value);
    unveil(demo);
    remember(block, input.value);
  });
}

function bindAll() {
  const blocks = document.querySelectorAll(".gc-predict[data-key]");
  if (!blocks.length) return;
  for (const block of blocks) bind(block);
}

// Material's instant navigation swaps page content without a reload: bind on every page.
onEveryPage(bindAll);
