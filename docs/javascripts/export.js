// Exporting a demo's figures as one picture, laid out as the page shows them.
//
// SVG: the SVG the package's writer produced in the worker for each figure (vector, the same
// drawing as the build-time picture), placed in the figures' boxes, with the page's current
// theme colours inlined so the file reads on its own. PNG: the live canvases, drawn onto one.

// The figures' own colours, resolved for the current theme, for a stand-alone file.
function themeCSS(root) {
  const cs = getComputedStyle(root.querySelector("canvas") || root);
  const vars = [];
  const rules = [];
  for (const sheet of document.styleSheets) {
    let list;
    try { list = sheet.cssRules; } catch { continue; }   // another origin's sheet: not ours
    for (const r of list) {
      if (r.style) for (const name of r.style) if (name.startsWith("--gc-")) vars.push(name);
      if (r.selectorText && /\.gc-(s|f)-|\.gc-svg|\.gc-handle|\.gc-legend/.test(r.selectorText)) rules.push(r.cssText);
    }
  }
  const decl = [...new Set(vars)].map((n) => `${n}:${cs.getPropertyValue(n).trim()}`).join(";");
  return `svg{${decl}}\n${rules.join("\n")}`;
}

// Each visible figure's drawing (live canvas, else the static SVG) and its box in CSS px,
// relative to the figures' container.
function figureBoxes(root) {
  const figs = [...root.querySelectorAll(".gc-figure")].filter((f) => f.offsetParent !== null);
  const base = root.querySelector(".gc-figures").getBoundingClientRect();
  return figs.map((f) => {
    const c = f.querySelector("canvas:not([hidden])") || f.querySelector("svg");
    const r = c.getBoundingClientRect();
    return { name: f.dataset.figure, el: c, x: r.left - base.left, y: r.top - base.top, w: r.width, h: r.height };
  });
}

const extent = (boxes) => [Math.ceil(Math.max(...boxes.map((b) => b.x + b.w))),
  Math.ceil(Math.max(...boxes.map((b) => b.y + b.h)))];

/** One SVG document holding `svgs` (figure name -> SVG text) where the page shows each figure. */
export function composeSVG(root, svgs) {
  const boxes = figureBoxes(root).filter((b) => svgs[b.name]);
  const [W, H] = extent(boxes);
  const parser = new DOMParser();
  const ns = "http://www.w3.org/2000/svg";
  const doc = document.implementation.createDocument(ns, "svg", null);
  const top = doc.documentElement;
  for (const [k, v] of Object.entries({ width: W, height: H, viewBox: `0 0 ${W} ${H}` })) top.setAttribute(k, String(v));
  const style = doc.createElementNS(ns, "style");
  style.textContent = themeCSS(root);
  top.append(style);
  const bg = doc.createElementNS(ns, "rect");
  for (const [k, v] of Object.entries({ width: "100%", height: "100%", fill: "var(--gc-bg, #fff)" })) bg.setAttribute(k, v);
  top.append(bg);
  for (const b of boxes) {
    const inner = parser.parseFromString(svgs[b.name], "image/svg+xml").documentElement;
    inner.removeAttribute("style");
    for (const [k, v] of Object.entries({ x: b.x, y: b.y, width: b.w, height: b.h })) inner.setAttribute(k, String(v));
    top.append(doc.importNode(inner, true));
  }
  return new XMLSerializer().serializeToString(doc);
}

/**
 * The live canvases on one PNG at their backing-store resolution. Resolves with the Blob,
 * null when encoding failed, or undefined when no figure is live yet.
 */
export function composePNG(root) {
  const boxes = figureBoxes(root).filter((b) => b.el.tagName === "CANVAS");
  if (!boxes.length) return Promise.resolve(undefined);
  const k = Math.max(...boxes.map((b) => b.el.width / b.w));
  const [W, H] = extent(boxes);
  const out = document.createElement("canvas");
  out.width = Math.round(W * k);
  out.height = Math.round(H * k);
  const ctx = out.getContext("2d");
  ctx.fillStyle = getComputedStyle(boxes[0].el).getPropertyValue("--gc-bg").trim() || "#ffffff";
  ctx.fillRect(0, 0, out.width, out.height);
  for (const b of boxes) ctx.drawImage(b.el, b.x * k, b.y * k, b.w * k, b.h * k);
  return new Promise((resolve) => out.toBlob((blob) => resolve(blob), "image/png"));
}
