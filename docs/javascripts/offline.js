// Installs the site's service worker (sw.js at the site root, built by site_hooks/offline.py),
// which keeps the runtime and every page of this build, so a return visit starts from local
// copies and the whole site works with no network after one visit.
//
// It registers only once the page has what it came for (the Python runtime ready, or a page
// without demos loaded), so precaching never competes with a first visit's own downloads.
// <html data-offline> says how far it got: installing | ready | unsupported | failed.

import { getRuntime } from "./runtime.js";

const KEY = "__gradclipOffline";
const root = document.documentElement;

function register() {
  if (globalThis[KEY]) return;
  globalThis[KEY] = true;
  // The site root: this file is <root>/javascripts/offline.js.
  const url = new URL("../sw.js", import.meta.url);
  root.dataset.offline = "installing";
  navigator.serviceWorker.register(url, { scope: new URL("../", import.meta.url).pathname })
    .then((registration) => installed(registration))
    .then(() => { root.dataset.offline = "ready"; })
    .catch((err) => {
      // Offline reading is a bonus: the page works as before, and the console says why.
      console.warn(`gradclip: the site could not be kept for offline reading (${err.message || err})`);
      root.dataset.offline = "failed";
    });
}

// Resolves once a worker of this build is active; rejects if its install fails (a file that
// could not be fetched or did not match its hash), which navigator.serviceWorker.ready,
// waiting for ever, would not say.
function installed(registration) {
  const worker = registration.installing || registration.waiting;
  if (!worker) return Promise.resolve();
  return new Promise((resolve, reject) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve();
      if (worker.state === "redundant") reject(new Error("its install failed; the next visit tries again"));
    });
  });
}

// A newer build took over while this page was open. Its cached pages and files belong with
// its own scripts, not with the ones running here, so from now on a click loads the page
// afresh instead of being handled by instant navigation (which would mix the two builds).
function fullLoadsFromNowOn() {
  addEventListener("click", (event) => {
    const a = event.target instanceof Element && event.target.closest("a[href]");
    if (a && !a.target && a.origin === location.origin) event.stopPropagation();
  }, true);
}

function setup() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) {
    root.dataset.offline = "unsupported";
    return;
  }
  // The first worker taking control only adds a cache; a later one is a newer build.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (controlled) fullLoadsFromNowOn();
    controlled = true;
  });
  const runtime = getRuntime();
  const whenIdle = () => (window.requestIdleCallback ? requestIdleCallback(register, { timeout: 2000 }) : setTimeout(register, 200));
  runtime.onStatus((stage) => { if (stage === "ready") whenIdle(); });
  // A page without live demos never starts the runtime: register once it has loaded.
  addEventListener("load", () => setTimeout(() => { if (!runtime.worker) whenIdle(); }, 3000), { once: true });
}

setup();
