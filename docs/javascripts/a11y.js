// Repairs to the theme's own markup for screen readers, on every page Material shows.

import { onEveryPage } from "./dom.js";

// Material puts each code block's copy button in a <nav> of its own. That makes one unnamed
// navigation landmark per code block (axe-core: landmark-unique), and a page with twenty code
// samples would list twenty "navigation" landmarks that lead nowhere, burying the site's real
// ones. The <nav> only groups one button, so it loses the landmark role; the button keeps its
// name ("Copy to clipboard") and its place in the tab order.
function unlandmarkCodeNavs() {
  for (const nav of document.querySelectorAll("nav.md-code__nav:not([role])")) nav.setAttribute("role", "none");
}

onEveryPage(unlandmarkCodeNavs);
