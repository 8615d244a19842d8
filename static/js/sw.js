/* Service worker of the technician pages (scope /t/).
 *
 * Served by technicians/pwa.py, which fills in the version and the app-shell list.
 * - install: precache the app shell (stylesheet, scripts, vendored libraries, icons, manifest);
 * - pages under /t/: network first, the copy saved on the phone when the network fails, so today's
 *   visits stay readable with no signal;
 * - never touches writes (POST/PUT/PATCH/DELETE) nor the JSON API: the page's outbox (outbox.js)
 *   queues writes itself, with their Idempotency-Keys;
 * - only pages the signed-in technician opened are kept; outbox.js empties the page cache on logout
 *   and when another user signs in on the same phone;
 * - pages are kept per language (the Content-Language the server answered with): the cache is
 *   "dispatch-pages-<lang>", and a page in another language drops the saved pages of the old one, so a
 *   technician who changed language never gets a saved page in the other; /i18n.js (the scripts'
 *   strings) is kept with them, so the outbox and the "no signal" page speak the same language.
 */
"use strict";

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const SCOPE = "__SCOPE__";
const SHELL_CACHE = "dispatch-shell-" + VERSION;
const I18N_URL = __I18N__;
const PAGES_PREFIX = "dispatch-pages-";

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
    event.waitUntil(clearPages().then(() => {
      if (event.source) event.source.postMessage({ type: "pages-cleared" });
    }));
  }
});

function pageCaches() {
  return caches.keys().then((names) => names.filter((name) => name.startsWith(PAGES_PREFIX)));
}

function clearPages() {
  return pageCaches().then((names) => Promise.all(names.map((name) => caches.delete(name))));
}

// The cache of one language; the pages saved in any other are dropped (one language at a time).
async function pagesCache(lang) {
  const keep = PAGES_PREFIX + (lang || "default");
  const names = await pageCaches();
  await Promise.all(names.filter((name) => name !== keep).map((name) => caches.delete(name)));
  return caches.open(keep);
}

async function savedCopy(url) {
  for (const name of await pageCaches()) {
    const hit = await (await caches.open(name)).match(url, { ignoreVary: true });
    if (hit) return hit;
  }
  return undefined;
}

function languageOf(response) {
  return (response.headers.get("Content-Language") || "").split(",")[0].trim();
}

function isHtml(response) {
  return (response.headers.get("Content-Type") || "").includes("text/html");
}

// The language of /i18n.js, from its `locale: "zh_CN"` (or zh_Hans_CN), as the pages' <html lang>
// and Content-Language say it: zh-CN or en.
function scriptLanguage(text) {
  const match = /locale: "([A-Za-z_-]+)"/.exec(text);
  if (!match) return "";
  const tag = match[1].toLowerCase();
  return tag.startsWith("zh") ? "zh-CN" : tag.split(/[_-]/)[0];
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The words of the saved /i18n.js (the user's language); English only if none was ever saved.
async function savedMessages() {
  const saved = await savedCopy(I18N_URL);
  if (saved) {
    const text = await saved.text();
    const match = /var messages = (\{.*\});/.exec(text);
    try { if (match) return { lang: scriptLanguage(text), messages: JSON.parse(match[1]) }; } catch (err) { /* below */ }
  }
  return { lang: "en", messages: {} };
}

async function offlinePage() {
  const { lang, messages } = await savedMessages();
  const t = (key, english) => escapeHtml(messages[key] || english);
  const html = "<!doctype html><html lang='" + escapeHtml(lang || "en") + "'><head><meta charset=utf-8>" +
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>" + t("offline.title", "No signal") +
    "</title><link rel=stylesheet href='/static/css/app.css'></head><body><main class=container>" +
    "<div class='card'><h1>" + t("offline.title", "No signal") + "</h1><p>" +
    t("offline.text", "This page was not saved on the phone before the connection dropped.") +
    "</p><p><a href='" + SCOPE + "'>" + t("offline.link", "Open today's visits") + "</a></p></div></main></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    // Keep only a real page of this technician: not a redirect to the login page, not an error.
    if (response.ok && response.type === "basic" && !response.redirected && isHtml(response)) {
      await (await pagesCache(languageOf(response))).put(request.url, response.clone());
    }
    return response;
  } catch (err) {
    return (await savedCopy(request.url)) || offlinePage();
  }
}

// /i18n.js: fresh when there is a signal (the user may have changed language), else the saved copy.
// It carries no Content-Language header of its own: its locale is read from the script.
async function scriptStrings(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      const lang = scriptLanguage(await response.clone().text());
      const headers = new Headers(response.headers);
      headers.set("Content-Language", lang);
      const copy = new Response(await response.clone().blob(), { status: response.status, headers });
      await (await pagesCache(lang)).put(request.url, copy);
    }
    return response;
  } catch (err) {
    const saved = await savedCopy(request.url);
    if (saved) return saved;
    throw err;
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
  } else if (url.pathname === I18N_URL) {
    event.respondWith(scriptStrings(request));
  } else if (PRECACHE.includes(url.pathname)) {
    event.respondWith(shellFirst(request));
  }
  // Everything else (the JSON API, PDFs, other pages) goes to the network untouched.
});
