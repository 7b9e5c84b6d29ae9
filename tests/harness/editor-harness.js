// Drives editor.js for tests/browser/test_editor_browser.py (see editor.html). window.harness.create
// replaces the editor; every onRun and onChange call is recorded for the test to read.
import { createEditor } from "./editor.js";

const harness = {
  editor: null,
  runs: [],      // the text at each onRun call
  changes: [],   // the text passed to each onChange call

  /** A fresh editor holding `doc`; the static block beside it shows the same text. */
  create(doc = "", label = "Python code") {
    if (harness.editor) harness.editor.destroy();
    harness.runs.length = 0;
    harness.changes.length = 0;
    document.querySelector("#static > code").textContent = doc;
    harness.editor = createEditor({
      parent: document.getElementById("cell"),
      doc,
      label,
      onRun: () => harness.runs.push(harness.editor.getDoc()),
      onChange: (text) => harness.changes.push(text),
    });
    return true;
  },
};

window.harness = harness;
harness.create("def f(x):\n    return x + 1");
window.harnessReady = true;
