/* Service worker of the technician pages (scope /t/).
 *
 * Served by technicians/pwa.py, which fills in the version and the app-shell list.
 * - install: precache the app shell (stylesheet, scripts, vendored libraries, icons, manifest);
 * - pages under /t/: network first, the copy saved on the phone when the network fails, so today's
 *   visits stay readable with no signal;
 * - never touches writes (POST/PUT/PATCH/DELETE) nor the JSON API: the page's outbox (outbox.js)
 *   queues writes itself, with their Idempotency-Keys;
 * - only pages the signed-in technician opened are kept; outbox.js empties the page cache on logout
 *   and when another user signs in on the same phone.
 */
"use strict";

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const SCOPE = "__SCOPE__";
const SHELL_CACHE = "dispatch-shell-" + VERSION;
const PAGES_CACHE = "dispatch-pages";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith("dispatch-shell-") && name !== SHELL_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "clear-pages") {
    event.waitUntil(caches.delete(PAGES_CACHE).then(() => {
      if (event.source) event.source.postMessage({ type: "pages-cleared" });
    }));
  }
});

function isHtml(response) {
  return (response.headers.get("Content-Type") || "").includes("text/html");
}

function offlinePage() {
  const html = "<!doctype html><html lang=en><head><meta charset=utf-8>" +
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>Offline</title>" +
    "<link rel=stylesheet href='/static/css/app.css'></head><body><main class=container>" +
    "<div class='card'><h1>No signal</h1><p>This page was not saved on the phone before the " +
    "connection dropped.</p><p><a href='" + SCOPE + "'>Open today's visits</a></p></div></main></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function networkFirst(request) {
  const cache = await caches.open(PAGES_CACHE);
  try {
    const response = await fetch(request);
    // Keep only a real page of this technician: not a redirect to the login page, not an error.
    if (response.ok && response.type === "basic" && !response.redirected && isHtml(response)) {
      await cache.put(request.url, response.clone());
    }
    return response;
  } catch (err) {
    const saved = await cache.match(request.url, { ignoreVary: true });
    return saved || offlinePage();
  }
}

async function shellFirst(request) {
  const saved = await caches.match(request, { ignoreVary: true, ignoreSearch: false });
  if (saved) return saved;
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // writes go to the network as they are; never cached
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith(SCOPE)) {
    event.respondWith(networkFirst(request));
  } else if (PRECACHE.includes(url.pathname)) {
    event.respondWith(shellFirst(request));
  }
  // Everything else (the JSON API, PDFs, other pages) goes to the network untouched.
});
