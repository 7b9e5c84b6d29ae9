// The site's offline-first service worker. The build writes it to the site root as sw.js,
// after one line of data, `const PRECACHE = {caches, pages}` (site_hooks/offline.py): the
// files to keep, each with its sha256, in two version-named caches.
//
// * install: fetch every file not already held, check it against its hash, store it. One
//   mismatch (a deployment changed under us) fails the install, so a cache never mixes two
//   builds; the next visit tries again.
// * activate: delete every other cache of this site (older builds), take over open pages.
// * fetch: a file of this build comes from the cache, as the Response the cache holds (never
//   rebuilt from bytes: V8 keeps compiled WebAssembly only for a response it can trace to a
//   cache entry); anything else goes to the network. Pages and scripts are stored with COOP and
//   COEP headers added (cross-origin isolation: a running code cell can be interrupted). sitemap.xml is written for this worker's
//   own scope, so Material's instant navigation applies wherever the site is served.
//
// Classic script (not a module): module service workers are not supported everywhere yet.

const SCOPE = self.registration.scope;          // the site root, ending in "/"
const NAMES = new Set(PRECACHE.caches.map((c) => c.name));

self.addEventListener("install", (event) => {
  routeToCaches(event);
  event.waitUntil(precacheAll().then(() => self.skipWaiting()));
});

// Where the browser can (the Service Worker Static Routing API), requests for this build's
// files go straight to the caches without starting this script: running it for each of a
// page's few dozen requests, module imports one level after another, cost about 0.3 s of a
// return visit's start. The sitemap, addresses with a query string (a page's state, the wheel's
// ?v=) and anything not in a cache still come to the fetch handler below.
function routeToCaches(event) {
  if (!event.addRoutes || typeof URLPattern === "undefined") return;
  const path = new URL(SCOPE).pathname;
  const [runtime, site] = PRECACHE.caches.map((c) => c.name);
  const pattern = (pathname) => new URLPattern({ pathname, search: "" });
  event.addRoutes([
    { condition: { urlPattern: pattern(path + "sitemap.xml") }, source: "fetch-event" },
    { condition: { urlPattern: pattern(path + "assets/pyodide/*") }, source: { cacheName: runtime } },
    { condition: { urlPattern: pattern(path + "*") }, source: { cacheName: site } },
  ]);
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("gradclip-") && !NAMES.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  const path = new URL(request.url).pathname;
  if (path === new URL("sitemap.xml", SCOPE).pathname) {
    event.respondWith(sitemap());
    return;
  }
  event.respondWith(cachedOrNetwork(request));
});

async function precacheAll() {
  for (const group of PRECACHE.caches) {
    const cache = await caches.open(group.name);
    const held = new Set((await cache.keys()).map((r) => r.url));
    const wanted = Object.entries(group.files).filter(([rel]) => !held.has(new URL(rel, SCOPE).href));
    // A few at a time: the pages' own requests still get through on a slow link.
    await inBatches(wanted, 6, ([rel, sha]) => store(cache, rel, sha));
  }
}

async function inBatches(items, width, fn) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

async function store(cache, rel, sha) {
  const url = new URL(rel, SCOPE).href;
  // "no-cache": ask the server (a 304 costs nothing), so a stale HTTP-cache copy of an older
  // build is never taken for this one; the hash check below would refuse it anyway.
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${rel}: ${response.status}`);
  const digest = await crypto.subtle.digest("SHA-256", await response.clone().arrayBuffer());
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== sha) throw new Error(`${rel} is not the file of this build (sha256 ${hex})`);
  await cache.put(url, ISOLATE.test(rel) ? isolated(response) : response);
}

// Cross-origin isolation, which a static host such as GitHub Pages cannot switch on: the pages
// and scripts kept here carry COOP and COEP headers, so a page this worker serves gets shared
// memory, and a running code cell can be interrupted (Pyodide's interrupt buffer) instead of
// Python being restarted. Every file is from this origin, so require-corp blocks nothing. The
// worker script needs the header too: a dedicated worker of an isolated page must have it.
// Everything else (the wasm above all) is stored as it came.
const ISOLATE = /(^|\/)$|\.html$|\.m?js$/;

function isolated(response) {
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function cachedOrNetwork(request) {
  // The query string never changes a file of a build (the wheel's ?v= is its own hash), and a
  // page's state lives in its query: one entry serves both.
  for (const name of NAMES) {
    const cache = await caches.open(name);
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
  }
  try {
    return await fetch(request);
  } catch (err) {
    // No network and no such page in this build: the site's own "not found" page, which
    // still links to every page that is here.
    const notFound = request.mode === "navigate" && await caches.match(new URL("404.html", SCOPE).href);
    if (!notFound) throw err;
    return new Response(notFound.body, { status: 404, headers: notFound.headers });
  }
}

// Every page of the build under this worker's scope: Material's instant navigation takes over
// a link only if the sitemap lists it under the page's own protocol, host and path.
function sitemap() {
  const urls = PRECACHE.pages.map((p) => `<url><loc>${new URL(p, SCOPE).href}</loc></url>`).join("");
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>\n`;
  return new Response(xml, { headers: { "Content-Type": "application/xml" } });
}
