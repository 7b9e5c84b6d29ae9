// The code-cell editor: CodeMirror 6 set up for Python, bundled by site_hooks/editor.py into ONE
// ES module, site/javascripts/editor.js (never committed). Its public API is createEditor below;
// docs/javascripts/cells.js is its user.
//
// The extensions are picked one by one (not the `codemirror` package's basicSetup) so the bundle
// holds only what a cell needs: no gutter, no autocompletion, no search panel.
//
// Everything it looks like comes from Material for MkDocs' own CSS custom properties, so the
// editor follows the light/dark palette switch with no JavaScript, and matches the static
// `.md-typeset pre > code` block it replaces box for box (the page does not jump). The parent
// is expected to sit where that <pre> sat: inside .md-typeset, with the <pre>'s margins.

import { EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  HighlightStyle,
  bracketMatching,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
// The language alone, not python(): python() only adds completion sources, which would pull
// @codemirror/autocomplete into the bundle for nothing (no autocompletion here).
import { pythonLanguage } from "@codemirror/lang-python";
import { tags as t } from "@lezer/highlight";

// Material's Pygments classes -> colour variables (main.css: `.highlight .k` and friends), read
// back onto Lezer's tags so a cell is coloured like the static block beside it: `and`/`in` are
// operators (.ow), a call is a plain name (only a definition gets .nf). Two differences: Lezer
// does not tell builtins (print, self: .nb/.bp) from other names, so they stay plain, and
// True/False/None take the constant colour (Material leaves its .kc plain).
const hl = (name) => `var(--md-code-hl-${name}-color)`;
const highlightStyle = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.modifier, t.meta],
    color: hl("keyword") },
  { tag: [t.operatorKeyword, t.operator, t.arithmeticOperator, t.bitwiseOperator,
          t.compareOperator, t.updateOperator, t.definitionOperator, t.derefOperator],
    color: hl("operator") },
  { tag: [t.punctuation, t.paren, t.squareBracket, t.brace, t.separator], color: hl("punctuation") },
  { tag: [t.string, t.special(t.string)], color: hl("string") },
  { tag: t.escape, color: hl("special") },
  { tag: t.number, color: hl("number") },
  { tag: [t.comment, t.lineComment], color: hl("comment") },
  { tag: [t.function(t.definition(t.variableName)), t.definition(t.className)], color: hl("function") },
  { tag: [t.bool, t.null], color: hl("constant") },
  { tag: [t.variableName, t.propertyName], color: hl("name") },
]);

// The box of `.md-typeset pre > code` (Material main.css): font, size (.85em of the text, as
// `.md-typeset code`), line height (`.md-typeset pre`), padding, radius and colours. The
// fallbacks only serve a page without Material's stylesheet.
const theme = EditorView.theme({
  "&": {
    fontSize: ".85em",
    color: "var(--md-code-fg-color)",
    backgroundColor: "var(--md-code-bg-color)",
    borderRadius: ".1rem",
    direction: "ltr",
  },
  // Shown whenever the editor has focus (typing happens here), in the site's focus colour
  // (docs/stylesheets/site.css: Material's accent is under 3:1 on white), as its code blocks.
  "&.cm-focused": {
    outline: "2px solid var(--gc-focus, var(--md-accent-fg-color, #526cfe))",
    outlineOffset: "2px",
  },
  ".cm-scroller": {
    fontFamily: "var(--md-code-font-family, monospace)",
    lineHeight: "1.4",
    fontFeatureSettings: '"kern"',
    fontVariantLigatures: "none",
    // No wrapping: a long line scrolls inside the editor, never the page (phones: 360 px).
    overflowX: "auto",
    scrollbarWidth: "thin",
    scrollbarColor: "var(--md-default-fg-color--lighter) #0000",
    borderRadius: "inherit",          // its background covers the editor's
    // site.css's scroll cue of `pre > code`: a shadow at an edge with more text beyond it.
    background: [
      "linear-gradient(to right, var(--md-code-bg-color) 40%, transparent) left center / 2rem 100% no-repeat local",
      "linear-gradient(to left, var(--md-code-bg-color) 40%, transparent) right center / 2rem 100% no-repeat local",
      "radial-gradient(farthest-side at 0 50%, var(--gc-cue-shadow, transparent), transparent) left center / .9rem 100% no-repeat scroll",
      "radial-gradient(farthest-side at 100% 50%, var(--gc-cue-shadow, transparent), transparent) right center / .9rem 100% no-repeat scroll",
      "var(--md-code-bg-color)",
    ].join(", "),
  },
  ".cm-content": { padding: ".7720588235em 1.1764705882em", caretColor: "var(--md-code-fg-color)" },
  ".cm-line": { padding: "0" },
  // The base theme's bracket colours are for a light background; these follow the palette.
  "& .cm-matchingBracket, &.cm-focused .cm-matchingBracket": {
    backgroundColor: "var(--md-code-hl-color--light, #4287ff1a)",
    outline: "1px solid var(--md-code-hl-color, #4287ff)",
  },
  "& .cm-nonmatchingBracket, &.cm-focused .cm-nonmatchingBracket": {
    outline: "1px solid var(--md-code-hl-special-color, #db1457)",
  },
});

/** The keys that run the cell, above the default keymap (which binds Mod-Enter to a blank line). */
function runKeymap(onRun) {
  const run = () => {
    if (typeof onRun !== "function") return false;   // no run hook: the keys keep their usual meaning
    onRun();
    return true;
  };
  return Prec.highest(keymap.of([{ key: "Mod-Enter", run }, { key: "Shift-Enter", run }]));
}

/**
 * An editable Python cell in `parent`.
 *
 * @param {object} options
 * @param {HTMLElement} options.parent   where the editor is appended
 * @param {string} [options.doc]         the initial text
 * @param {string} [options.label]       the editable element's aria-label
 * @param {() => void} [options.onRun]   called by Mod-Enter (Ctrl/Cmd+Enter) and Shift-Enter
 * @param {(text: string) => void} [options.onChange]   called with the text after every change
 * @returns {{view: EditorView, getDoc: () => string, setDoc: (text: string) => void,
 *            focus: () => void, destroy: () => void}}
 */
export function createEditor({ parent, doc = "", label, onRun, onChange } = {}) {
  const extensions = [
    runKeymap(onRun),
    history(),
    indentUnit.of("    "),            // PEP 8; CodeMirror's default is two spaces
    indentOnInput(),                  // dedents else:, elif, except, finally as they are typed
    bracketMatching(),
    syntaxHighlighting(highlightStyle),
    pythonLanguage,
    theme,
    // Tab indents; CodeMirror itself lets Escape then Tab move focus out (no keyboard trap).
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
  ];
  if (label) extensions.push(EditorView.contentAttributes.of({ "aria-label": label }));
  if (typeof onChange === "function") {
    extensions.push(EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange(update.state.doc.toString());
    }));
  }
  const view = new EditorView({ parent, state: EditorState.create({ doc, extensions }) });
  return {
    view,
    getDoc: () => view.state.doc.toString(),
    // One undoable change (Reset can be taken back with Mod-z); nothing happens if equal.
    setDoc(text) {
      const current = view.state.doc.toString();
      if (text === current) return;
      view.dispatch({ changes: { from: 0, to: current.length, insert: text } });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
