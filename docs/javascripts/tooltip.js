// The hover read-out of a live figure: a small box of coloured lines next to a point.
// Created on first use (most figures are never hovered) inside the canvas's container.

export class Tooltip {
  constructor(host, canvas) {
    this.host = host;
    this.canvas = canvas;
    this.el = null;
  }

  /**
   * Show `lines` ([[css colour | null, text], ...]) by the point (x, y), in CSS px from the
   * canvas's top left; `topLimit` is where the plot starts (the title and legend sit above it)
   * and `width` the canvas's CSS width.
   */
  show(x, y, lines, topLimit, width) {
    if (!this.host) return;
    if (!this.el) {
      this.el = document.createElement("div");
      this.el.className = "gc-tooltip";
      this.el.setAttribute("aria-hidden", "true");
      this.host.appendChild(this.el);
    }
    const tip = this.el;
    tip.replaceChildren(...lines.map(([color, text]) => {
      const row = document.createElement("div");
      if (color) {
        const sw = document.createElement("span");
        sw.className = "gc-swatch";
        sw.style.background = color;
        row.appendChild(sw);
      }
      row.appendChild(document.createTextNode(text));
      return row;
    }));
    tip.hidden = false;
    const c = this.canvas;
    const px = c.offsetLeft + x;
    const py = c.offsetTop + y;
    const tw = tip.offsetWidth, th = tip.offsetHeight;
    const left = px + 14 + tw > c.offsetLeft + width ? px - 14 - tw : px + 14;
    tip.style.left = `${Math.max(c.offsetLeft, left)}px`;
    // Above the point, unless that would cover the title and legend: then below it.
    const above = py - th - 8;
    tip.style.top = `${above >= c.offsetTop + topLimit ? above : py + 12}px`;
  }

  hide() { if (this.el) this.el.hidden = true; }

  remove() { if (this.el) this.el.remove(); }
}
