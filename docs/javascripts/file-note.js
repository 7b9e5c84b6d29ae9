// A classic (non-module) script on purpose: browsers refuse ES modules on pages opened from
// disk (file://), so demos.js never runs there. This note tells the reader why the figures
// are static and how to get the live demos: one line of Python serves the folder.
(function () {
  if (location.protocol !== "file:") return;
  var demos = document.querySelectorAll(".gc-demo");
  for (var i = 0; i < demos.length; i++) {
    var root = demos[i];
    root.setAttribute("data-state", "error");
    var text = root.querySelector(".gc-status-text");
    if (text) {
      text.textContent = "This page was opened from disk, where browsers do not run the live demos. " +
        "The figure and numbers below were computed when the site was built. For live demos, serve " +
        "the folder: python3 -m http.server 8000 --directory gradclip-site, then open http://127.0.0.1:8000/";
    }
  }
})();
