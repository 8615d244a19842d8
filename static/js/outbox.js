/* The technician's outbox: actions taken with a weak signal wait on the phone and are sent later.
 *
 * A form with data-api="/api/v1/visits/7/arrive" (and data-offline-label="Arrived") still works
 * without JavaScript (it posts to its HTML endpoint). With JavaScript this script takes it over:
 *   1. builds the JSON body from the inputs (rows named parts-0-sku, parts-0-quantity become a list;
 *      number inputs become numbers, or exact decimal strings when they take cents; checkboxes booleans;
 *      a signature canvas becomes image_png_base64);
 *   2. gives the action an Idempotency-Key and keeps it in IndexedDB (the outbox), in order;
 *   3. sends the outbox in order (session cookie + X-CSRFToken). A network failure keeps the action and
 *      shows "N changes waiting"; it is sent again on the `online` event, on page load, and after
 *      2, 4, 8 ... (at most 30) seconds. 2xx removes it and reloads the fresh page. 409/422 (and other
 *      refusals) remove it from the outbox but keep it, with the server's message, in a visible
 *      "not saved" panel until the technician dismisses it: nothing is lost silently. (A 422 for a
 *      form typed on the page on screen keeps the page, so the technician can correct it.)
 *   4. one truth on screen: a completion waiting in the outbox offers the customer's sign-off only while
 *      the server has not answered it (no signal, or no answer yet); once refused, the offer is withdrawn
 *      and the sign-off card says the work was not saved, as the panel at the top does.
 * It also registers the service worker (sw.js), saves today's and tomorrow's visit pages for reading
 * offline, and empties that saved copy on logout or when another user signs in on the same phone.
 * Every word it shows comes from /i18n.js (I18N.t, the user's language; sw.js keeps it with the pages
 * saved in that language), and the saved pages are kept per language ("dispatch-pages-zh-CN").
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const SW_URL = (script && script.dataset.sw) || "/t/sw.js";
  const SCOPE = (script && script.dataset.scope) || "/t/";
  const VISITS_API = (script && script.dataset.visits) || "/api/v1/me/visits?days=2";
  const PAGES_PREFIX = "dispatch-pages-";
  const I18N_URL = "/i18n.js";
  // The page's language (<html lang>): the saved pages and the server's messages follow it.
  const LANG = document.documentElement.lang || "en";
  const PAGES_CACHE = PAGES_PREFIX + LANG;
  // The words of the scripts (/i18n.js, loaded before this one runs); the key itself if it is missing.
  const t = (key, values) => (window.I18N ? window.I18N.t(key, values) : key);
  const DB_NAME = "dispatch-outbox";
  const RETRY_MS = 30000;
  const userMeta = document.querySelector('meta[name="pwa-user"]');
  const USER = userMeta ? userMeta.content : "";
  // Whether the worker answered this page's own request (and so saved it already).
  const CONTROLLED_AT_LOAD = Boolean(navigator.serviceWorker && navigator.serviceWorker.controller);

  // ------------------------------------------------------------------ IndexedDB

  let dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        if (!db.objectStoreNames.contains("failed")) db.createObjectStore("failed", { keyPath: "id", autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  }

  function tx(store, mode, work) {
    return openDb().then((db) => new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const result = work(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    }));
  }

  const all = (store) => tx(store, "readonly", (s) => s.getAll())
    .then((rows) => rows.filter((row) => row.user === USER).sort((a, b) => a.id - b.id));
  const add = (store, row) => tx(store, "readwrite", (s) => s.add(row));
  const remove = (store, id) => tx(store, "readwrite", (s) => s.delete(id));

  // ------------------------------------------------------------------ building the request

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function decimalStep(input) {
    const step = input.getAttribute("step");
    return step && step !== "any" && step.includes(".");
  }

  function valueOf(input) {
    const kind = input.dataset.json || "";
    if (input.type === "checkbox" || kind === "boolean") return input.checked;
    const raw = input.value;
    if (kind === "string") return raw;
    if (input.type === "number" || kind === "number") {
      if (raw.trim() === "") return null;
      // Money takes cents (step="0.01"): send it as an exact decimal string, never a float.
      if (decimalStep(input) && kind !== "number") return raw.trim();
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    return raw;
  }

  function signatureFrom(form) {
    const canvas = form.querySelector("canvas");
    if (!canvas) return "";
    const pad = canvas.signaturePad || window.signaturePad;
    if (pad && typeof pad.isEmpty === "function" && pad.isEmpty()) return "";
    return canvas.toDataURL("image/png");
  }

  function stripDataUrl(value) {
    const comma = typeof value === "string" && value.startsWith("data:") ? value.indexOf(",") : -1;
    return comma >= 0 ? value.slice(comma + 1) : value;
  }

  // The JSON body of a form: names as the API's fields, rows (parts-0-sku) as a list of objects.
  function buildBody(form, submitter) {
    const data = {};
    const rows = {};
    const elements = Array.from(form.elements).filter((el) => el.name && !el.disabled && el.name !== "csrf_token");
    for (const el of elements) {
      if (el.tagName === "BUTTON" || el.type === "submit" || el.type === "button" || el.type === "reset") continue;
      if (el.type === "radio" && !el.checked) continue;
      if (el.type === "file") continue;
      let value = valueOf(el);
      if (el.name === "image_png_base64") value = stripDataUrl(value || signatureFrom(form));
      const row = /^(.+)-(\d+)-(.+)$/.exec(el.name);
      if (row) {
        const [, list, index, field] = row;
        rows[list] = rows[list] || {};
        rows[list][index] = rows[list][index] || {};
        rows[list][index][field] = value;
      } else if (el.tagName === "SELECT" && el.multiple) {
        data[el.name] = Array.from(el.selectedOptions, (o) => o.value);
      } else if (value !== null) {
        data[el.name] = value;
      }
    }
    if (submitter && submitter.name) data[submitter.name] = submitter.value;
    for (const [list, byIndex] of Object.entries(rows)) {
      // Rows in order; a row left blank (no sku typed) is not part of the work.
      data[list] = Object.keys(byIndex).sort((a, b) => a - b).map((i) => byIndex[i])
        .filter((item) => Object.values(item).some((v) => v !== null && v !== "" && typeof v !== "boolean"))
        .filter((item) => !("sku" in item) || String(item.sku || "").trim() !== "");
    }
    return data;
  }

  // ------------------------------------------------------------------ the page: banner, panel, notices

  function main() {
    return document.getElementById("main") || document.querySelector("main") || document.body;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function plural(n) {
    return t(n === 1 ? "outbox.waiting_one" : "outbox.waiting", { n });
  }

  // One render at a time, each reading the outbox afresh: a slow earlier one never paints over a later one.
  let rendering = Promise.resolve();

  function render() {
    rendering = rendering.then(paint, paint);
    return rendering;
  }

  async function paint() {
    const [waiting, failed] = await Promise.all([all("outbox"), all("failed")]);
    let banner = document.getElementById("outbox-banner");
    if (waiting.length) {
      if (!banner) {
        banner = el("div", { id: "outbox-banner", class: "outbox-banner", role: "status", "aria-live": "polite" });
        main().prepend(banner);
      }
      banner.replaceChildren(
        el("strong", { class: "outbox-count" }, plural(waiting.length)),
        el("span", { class: "outbox-hint" }, ` · ${t("outbox.hint")}`));
      banner.dataset.count = String(waiting.length);
    } else if (banner) {
      banner.remove();
    }

    let panel = document.getElementById("outbox-conflicts");
    if (failed.length) {
      if (!panel) {
        panel = el("section", { id: "outbox-conflicts", class: "outbox-conflicts", role: "alert" });
        const banner2 = document.getElementById("outbox-banner");
        if (banner2) banner2.after(panel); else main().prepend(panel);
      }
      const items = failed.map((f) => {
        const li = el("li", { class: "outbox-conflict", "data-status": String(f.status) });
        li.append(el("strong", {}, `${t("outbox.not_saved", { label: f.label })} `),
          el("span", { class: "outbox-message" }, f.message));
        const when = new Date(f.at);
        const time = when.toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
        li.append(el("span", { class: "muted small" }, ` ${t("outbox.tapped", { time })}`));
        const dismiss = el("button", { type: "button", class: "button small outbox-dismiss" }, t("outbox.dismiss"));
        dismiss.addEventListener("click", () => remove("failed", f.id).then(render));
        li.append(" ", dismiss);
        return li;
      });
      panel.replaceChildren(el("h2", {}, t("outbox.not_saved_title")),
        el("ul", {}, undefined));
      panel.querySelector("ul").append(...items);
    } else if (panel) {
      panel.remove();
    }
    markQueuedForms(waiting, failed);
    document.documentElement.dataset.outboxCount = String(waiting.length);
  }

  function showNotice() {
    const text = sessionStorage.getItem("outbox-notice");
    if (!text) return;
    sessionStorage.removeItem("outbox-notice");
    main().prepend(el("div", { class: "flash flash-success outbox-notice", role: "status" }, text));
  }

  function noticeFor(item, payload) {
    if (!payload || typeof payload !== "object") return;
    const parts = [];
    if (payload.receipt_number) {
      // A carry-back's receipt (it names the item taken) or an on-site payment's.
      const key = payload.item !== undefined ? "outbox.carry_back_numbered" : "outbox.payment_recorded";
      parts.push(t(key, { receipt: payload.receipt_number }));
    }
    if (payload.content_sha256) parts.push(t("outbox.signed", { hash: payload.content_sha256 }));
    if (parts.length) {
      const previous = sessionStorage.getItem("outbox-notice");
      sessionStorage.setItem("outbox-notice", (previous ? previous + " · " : "") + parts.join(" · "));
    }
  }

  // What a visit's status badge says once the action is through (API.md: on-my-way, arrive, complete).
  const STATUS_AFTER = { "on-my-way": "outbox.status_on_the_way", "arrive": "outbox.status_on_site",
    "complete": "outbox.status_completed" };

  function actionOf(url) {
    const match = /\/visits\/(\d+)\/([a-z-]+)$/.exec(url || "");
    return match ? { visit: match[1], action: match[2] } : { visit: "", action: "" };
  }

  // A visit's status badge (visit page, or its card on Today) as it will be once the action is through.
  function showStatus(item) {
    const { visit, action } = actionOf(item.url);
    if (!visit || !STATUS_AFTER[action]) return;
    for (const scope of document.querySelectorAll(`[data-visit-id="${visit}"]`)) {
      const badge = scope.querySelector("[data-status-label]") || scope.querySelector('.badge[class*="status-"]');
      if (!badge) continue;
      if (!badge.dataset.originalText) badge.dataset.originalText = badge.textContent;
      badge.textContent = t(STATUS_AFTER[action]);
      badge.dataset.pendingLabel = t("outbox.pending");
      badge.classList.add("outbox-pending");
    }
  }

  // The change shown on the page at once, before the server has it (only where it is simple).
  function optimistic(form, item) {
    if (!form) return;
    form.classList.add("outbox-queued");
    showStatus(item);
    for (const button of form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")) {
      button.disabled = true;
      if (!button.dataset.originalLabel) {
        button.dataset.originalLabel = button.textContent;
        if (button.tagName === "BUTTON") button.textContent = t("outbox.waiting_to_send", { label: button.textContent.trim() });
      }
    }
  }

  // Actions sent at least once without an answer from the server (no signal, server down, logged out):
  // only these, or any while the phone is offline, are "saved on this phone" in the sense that matters.
  const unanswered = new Set();

  function awaitingServer(item) {
    return !navigator.onLine || unanswered.has(item.key);
  }

  function markQueuedForms(waiting, failed) {
    for (const item of waiting) showStatus(item);
    for (const item of waiting) {
      for (const form of document.querySelectorAll("form[data-api]")) {
        if (form.dataset.api === item.url && !form.classList.contains("outbox-queued")) optimistic(form, item);
      }
    }
    for (const item of waiting.filter((it) => actionOf(it.url).action === "arrive")) offlineWorkForm(item);
    const completes = waiting.filter((item) => actionOf(item.url).action === "complete");
    // The customer may sign a completion the server has not seen yet, never one it is deciding on or refused.
    const offered = completes.filter(awaitingServer);
    for (const item of offered) {
      offerSignOff(item);
      offlineSignForm(item);
    }
    withdrawOffers(new Set(offered.map((item) => actionOf(item.url).visit)));
    const stillWaiting = new Set(completes.map((item) => actionOf(item.url).visit));
    const refused = failed.filter((f) => actionOf(f.url).action === "complete")
      .map((f) => actionOf(f.url).visit).filter((visit) => !stillWaiting.has(visit));
    showRefusedSignOff(new Set(refused));
  }

  // Take back what offerSignOff and offlineSignForm added for visits no longer offered for signing.
  function withdrawOffers(keep) {
    for (const node of document.querySelectorAll("[data-outbox-offer]")) {
      if (!keep.has(node.dataset.outboxOffer)) node.remove();
    }
    for (const node of document.querySelectorAll("[data-outbox-hid]")) {
      if (keep.has(node.dataset.outboxHid)) continue;
      node.hidden = false;
      delete node.dataset.outboxHid;
    }
  }

  // The sign-off card of a visit whose completion the server refused: nothing to sign, and why. (Not when
  // the server's own page already has the work, as after a correction that went through.)
  function showRefusedSignOff(visits) {
    const section = document.getElementById("sign-off");
    for (const node of document.querySelectorAll("[data-outbox-refused]")) {
      if (visits.has(node.dataset.outboxRefused)) continue;
      if (node.tagName === "P" && node.classList.contains("outbox-refused-note")) node.remove();
      else { node.hidden = false; delete node.dataset.outboxRefused; }
    }
    if (!section) return;
    for (const visit of visits) {
      if (!document.querySelector(`[data-visit-id="${visit}"]`)) continue;
      if (section.querySelector(`.outbox-refused-note[data-outbox-refused="${visit}"]`)) continue;
      if (section.querySelector('a[href$="/sign"]') || section.querySelector(".signer")) continue;
      for (const note of section.querySelectorAll("p.muted")) {  // "After the work is recorded."
        if (note.hidden) continue;
        note.hidden = true;
        note.dataset.outboxRefused = visit;
      }
      section.append(el("p", { class: "outbox-refused-note", role: "status", "data-outbox-refused": visit },
        t("outbox.sign_refused")));
    }
  }

  // The visit page saved before arrival has no work form: once Arrived waits in the outbox, show one.
  function offlineWorkForm(item) {
    const template = document.getElementById("pwa-offline-complete");
    const { visit } = actionOf(item.url);
    const section = document.getElementById("work");
    if (!template || template.dataset.visitId !== visit || !section || section.querySelector("form.complete-form")) return;
    for (const note of section.querySelectorAll("p.muted")) note.hidden = true;  // "Tap Arrived when ..."
    section.append(template.content.cloneNode(true));
    // Labor runs from the Arrived tap, until the technician types a value.
    const labor = section.querySelector("input[data-offline-clock]");
    if (!labor) return;
    let touched = false;
    labor.addEventListener("input", () => { touched = true; });
    const tick = () => {
      if (!touched) labor.value = String(Math.max(0, Math.min(1440, Math.ceil((Date.now() - item.created) / 60000))));
    };
    tick();
    window.setInterval(tick, 30000);
  }

  // The visit page saved before the work was recorded has no way to the sign-off page: add one.
  function offerSignOff(item) {
    const { visit } = actionOf(item.url);
    const section = document.getElementById("sign-off");
    if (!section || !document.querySelector(`[data-visit-id="${visit}"]`)) return;
    if (section.querySelector('a[href$="/sign"]') || section.querySelector(".signer")) return;
    for (const note of section.querySelectorAll("p.muted")) {  // "After the work is recorded."
      if (note.hidden) continue;
      note.hidden = true;
      note.dataset.outboxHid = visit;
    }
    const link = el("a", { class: "button primary wide outbox-sign-link", href: `${SCOPE}visits/${visit}/sign`,
      "data-outbox-offer": visit }, t("outbox.customer_sign_off"));
    section.append(el("p", { class: "small muted outbox-sign-now", "data-outbox-offer": visit }, t("outbox.sign_now")),
      link);
  }

  // The sign-off page saved before the work was recorded: show the pad with the work waiting to be sent.
  function offlineSignForm(item) {
    const template = document.getElementById("pwa-offline-sign");
    const { visit } = actionOf(item.url);
    if (!template || template.dataset.visitId !== visit || document.getElementById("pwa-signature-pad")) return;
    let body = {};
    try { body = JSON.parse(item.body); } catch (err) { /* shown empty */ }
    let outcomes = {};
    try { outcomes = JSON.parse(template.dataset.outcomes || "{}"); } catch (err) { /* raw values */ }
    const fragment = template.content.cloneNode(true);
    const set = (name, text) => { const node = fragment.querySelector(`[data-field="${name}"]`); if (node) node.textContent = text; };
    set("work_summary", body.work_summary || "");
    set("labor_minutes", body.labor_minutes === undefined ? "" : String(body.labor_minutes));
    set("parts", (body.parts || []).map((p) => `${p.sku} × ${p.quantity}`).join(", ") || t("outbox.no_parts"));
    set("outcome", outcomes[body.outcome] || body.outcome || "");
    // Marked, so the offer can be taken back if the server refuses the completion.
    for (const node of fragment.children) node.dataset.outboxOffer = visit;
    const placeholder = main().querySelector("p.card.record-first");  // "Record the work first: ..."
    if (placeholder) {
      placeholder.hidden = true;
      placeholder.dataset.outboxHid = visit;
      placeholder.after(fragment);
    } else {
      main().append(fragment);
    }
    const canvas = document.getElementById("pwa-signature-pad");
    if (!canvas) return;
    if (window.SignaturePad) initPad(canvas);
    else window.addEventListener("load", () => initPad(canvas), { once: true });
  }

  function initPad(canvas) {
    if (canvas.signaturePad || !window.SignaturePad) return;
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    const pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#10213f" });
    canvas.signaturePad = pad;
    const form = canvas.closest("form");
    const wrap = canvas.closest(".pad-wrap");
    const signed = () => { if (wrap) wrap.classList.toggle("signed", !pad.isEmpty()); };
    pad.addEventListener("endStroke", signed);
    const clear = form.querySelector(".pad-clear");
    if (clear) clear.addEventListener("click", () => { pad.clear(); signed(); });
    form.addEventListener("submit", (event) => {
      if (pad.isEmpty()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        window.alert(t("visit.not_signed"));
      }
    }, true);
  }

  // ------------------------------------------------------------------ sending

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function freshCsrfToken() {
    // A page saved hours ago may carry a token that has expired: ask the server for a current one.
    const response = await fetch(SCOPE, { credentials: "same-origin", cache: "no-store" });
    const html = await response.text();
    const match = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
    if (match) {
      const meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) meta.content = match[1];
      return match[1];
    }
    return csrfToken();
  }

  function send(item, token) {
    return fetch(item.url, {
      method: item.method,
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": item.key,
        // The API speaks the browser's language; the page may be in the user's own setting: follow the page.
        "Accept-Language": LANG,
        "X-CSRFToken": token,
      },
      body: item.body,
    });
  }

  async function readJson(response) {
    try { return await response.json(); } catch (err) { return null; }
  }

  // A field's label as the page shows it (its <label> or <legend>), else its name in words.
  function fieldLabel(name) {
    const input = document.querySelector(`form[data-api] [name="${name}"]`);
    const labelled = input && (input.labels && input.labels[0]);
    const legend = input && input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
    const text = (labelled && labelled.textContent) || (legend && legend.textContent) || "";
    return text.trim() || name.replace(/_/g, " ");
  }

  let draining = null;
  const typedHere = new Map();  // Idempotency-Key -> the form on this page it came from

  // A form whose action the server refused as invalid: editable again, its button back.
  function release(form) {
    if (!form) return;
    form.classList.remove("outbox-queued");
    delete form.dataset.sending;
    for (const badge of document.querySelectorAll(".outbox-pending[data-original-text]")) {
      badge.textContent = badge.dataset.originalText;
      badge.classList.remove("outbox-pending");
      delete badge.dataset.originalText;
    }
    for (const button of form.querySelectorAll("button[data-original-label]")) {
      button.disabled = false;
      button.textContent = button.dataset.originalLabel;
      delete button.dataset.originalLabel;
    }
  }
  let lastOutcome = { sent: 0, refused: 0 };

  function drain() {
    if (draining) return draining;
    const run = async () => {
      const outcome = { sent: 0, refused: 0, stopped: "", correctable: [] };
      for (;;) {
        const [item] = await all("outbox");
        if (!item) break;
        let response;
        try {
          response = await send(item, csrfToken());
          if (response.status === 400) {
            const payload = await readJson(response.clone());
            if (payload && payload.error && payload.error.code === "csrf_failed") {
              response = await send(item, await freshCsrfToken());
            }
          }
        } catch (err) {
          outcome.stopped = "offline";  // no signal: keep it, try again later
          break;
        }
        if (response.ok) {
          noticeFor(item, await readJson(response));
          await remove("outbox", item.id);
          outcome.sent += 1;
          continue;
        }
        if (response.status === 401) { outcome.stopped = "login"; break; }
        if (response.status >= 500 || response.status === 429 || response.status === 408) {
          outcome.stopped = "server";
          break;
        }
        // Refused for good (409 conflict, 422 invalid, 404 gone...): out of the outbox, into the panel.
        const payload = await readJson(response);
        const error = (payload && payload.error) || {};
        const said = error.message || t("outbox.refused", { status: response.status });
        // The field problems the message does not tell already, named as the form names them (never the
        // JSON name: work_summary is "What was done").
        const fields = Object.entries(error.fields || {}).filter(([, why]) => !said.includes(String(why)))
          .map(([name, why]) => t("outbox.problem", { field: fieldLabel(name), problem: why }));
        const message = fields.length ? `${said} (${fields.join("; ")})` : said;
        await add("failed", {
          user: USER, label: item.label, url: item.url, status: response.status, message,
          code: (payload && payload.error && payload.error.code) || "", at: Date.now(), key: item.key,
        });
        await remove("outbox", item.id);
        outcome.refused += 1;
        // Invalid input typed on this very page: keep the page (and what was typed) to correct it.
        if (response.status === 422 && typedHere.has(item.key)) outcome.correctable.push(item.key);
      }
      // No answer for the rest of the outbox: the server has not decided on any of it.
      if (outcome.stopped) for (const rest of await all("outbox")) unanswered.add(rest.key);
      lastOutcome = outcome;
      return outcome;
    };
    const locked = navigator.locks ? navigator.locks.request("dispatch-outbox", run) : run();
    draining = locked.then(async (outcome) => {
      draining = null;
      const onlyCorrectable = !outcome.sent && outcome.refused === outcome.correctable.length;
      for (const key of outcome.correctable) release(typedHere.get(key));
      if ((outcome.sent || outcome.refused) && navigator.onLine && !onlyCorrectable) {
        // The server has changed: show its fresh page (which renders the banner and panel again).
        const next = sessionStorage.getItem("outbox-next");
        sessionStorage.removeItem("outbox-next");
        if (next) window.location.assign(next); else window.location.reload();
        return outcome;
      }
      await render();
      if (outcome.stopped === "login") loginNeeded();
      if (outcome.stopped === "offline" || outcome.stopped === "server") retryLater();
      return outcome;
    }, (err) => { draining = null; throw err; });
    return draining;
  }

  // A weak signal often never fires `online` (the phone has a network, the network has no data):
  // try again after 2, 4, 8 ... seconds, at most every 30 seconds, until the outbox is empty.
  let retryTimer = null;
  let retryDelay = 2000;

  function retryLater() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(() => { retryTimer = null; drain(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MS);
  }

  function retryNow() {
    if (retryTimer) window.clearTimeout(retryTimer);
    retryTimer = null;
    retryDelay = 2000;
    return drain();
  }

  function loginNeeded() {
    const banner = document.getElementById("outbox-banner");
    if (banner && !banner.querySelector(".outbox-login")) {
      const link = el("a", { href: "/login?next=" + encodeURIComponent(location.pathname), class: "outbox-login" },
        ` ${t("outbox.login_again")}`);
      banner.append(link);
    }
  }

  async function queue(form, submitter) {
    const label = form.dataset.offlineLabel || (submitter && submitter.textContent.trim()) || t("outbox.change");
    const item = {
      user: USER,
      url: form.dataset.api,
      method: (form.dataset.apiMethod || "POST").toUpperCase(),
      body: JSON.stringify(buildBody(form, submitter)),  // kept as sent: a resend is byte-identical
      key: newKey(),
      label,
      created: Date.now(),
      page: location.pathname,
    };
    await add("outbox", item);
    typedHere.set(item.key, form);
    // After the sign-off, back to the visit (the sign page has nothing left to do).
    const next = form.dataset.next || (actionOf(item.url).action === "signature" && location.pathname.endsWith("/sign")
      ? location.pathname.slice(0, -"/sign".length) : "");
    if (next) sessionStorage.setItem("outbox-next", next);
    optimistic(form, item);
    await render();
    return retryNow();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (isLogout(form)) { event.preventDefault(); logout(form); return; }
    if (!form.dataset.api || event.defaultPrevented) return;
    if (!window.indexedDB) return;  // no storage: let the plain form post as it would without JavaScript
    event.preventDefault();
    if (form.classList.contains("outbox-queued") || form.dataset.sending) return;
    form.dataset.sending = "1";
    queue(form, event.submitter).catch((err) => {
      console.error("outbox", err);
      delete form.dataset.sending;
    });
  });

  // ------------------------------------------------------------------ offline reading and logout

  function isLogout(form) {
    try { return new URL(form.action, location.href).pathname === "/logout"; } catch (err) { return false; }
  }

  async function pageCaches() {
    return (await caches.keys()).filter((name) => name.startsWith(PAGES_PREFIX));
  }

  async function clearPages() {
    if (!("caches" in window)) return;
    await Promise.all((await pageCaches()).map((name) => caches.delete(name)));
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear-pages" });
    }
  }

  function logout(form) {
    localStorage.removeItem("pwa-user");
    clearPages().finally(() => form.submit());
  }

  async function forgetOtherUser() {
    const previous = localStorage.getItem("pwa-user");
    if (USER && previous && previous !== USER) await clearPages();
    if (USER) localStorage.setItem("pwa-user", USER);
  }

  // The user changed language (My account, or the phone's own): pages saved in the other one must not be
  // served with no signal. (The worker drops them too, as soon as it sees a page in the new language.)
  async function forgetOtherLanguage() {
    if (!("caches" in window)) return;
    await Promise.all((await pageCaches()).filter((name) => name !== PAGES_CACHE).map((name) => caches.delete(name)));
  }

  function technicianLinks() {
    const urls = new Set([location.pathname + location.search]);
    for (const a of document.querySelectorAll("a[href]")) {
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || !url.pathname.startsWith(SCOPE)) continue;
      if (a.hasAttribute("download") || /\.(pdf|js|webmanifest)$/.test(url.pathname)) continue;
      urls.add(url.pathname + url.search);
    }
    return urls;
  }

  async function plannedVisitPages() {
    const urls = new Set();
    try {
      const response = await fetch(VISITS_API, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return urls;
      const payload = await response.json();
      for (const visit of payload.items || payload.visits || []) {
        const page = visit.url || visit.page_url || `${SCOPE}visits/${visit.id}`;
        urls.add(page);
        urls.add(visit.sign_url || `${page.replace(/\/$/, "")}/sign`);
      }
    } catch (err) { /* offline or not there: the links on the page still count */ }
    return urls;
  }

  // Save today's and tomorrow's visit pages (and their sign-off pages) for reading with no signal.
  async function saveForOffline() {
    if (!("caches" in window) || !navigator.onLine || !USER) return;
    const cache = await caches.open(PAGES_CACHE);
    const onToday = location.pathname === SCOPE;
    const urls = new Set([...technicianLinks(), ...(await plannedVisitPages())]);
    // The scripts' words in this language, for the outbox with no signal (the worker keeps it fresh).
    if (!(await cache.match(I18N_URL, { ignoreVary: true }))) {
      try {
        const response = await fetch(I18N_URL, { credentials: "same-origin", cache: "no-store" });
        if (response.ok && !response.redirected) await cache.put(I18N_URL, response);
      } catch (err) { /* saved with the next page */ }
    }
    // The page on screen is saved by the worker as it loads, once the worker controls the page.
    if (CONTROLLED_AT_LOAD) urls.delete(location.pathname + location.search);
    await Promise.all(Array.from(urls, async (url) => {
      if (!onToday && await cache.match(url, { ignoreVary: true })) return;
      try {
        const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        const html = (response.headers.get("Content-Type") || "").includes("text/html");
        const sameLanguage = (response.headers.get("Content-Language") || LANG) === LANG;
        if (response.ok && !response.redirected && html && sameLanguage) await cache.put(url, response);
      } catch (err) { /* keep what was saved before */ }
    }));
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(SW_URL, { scope: SCOPE });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller && location.pathname.startsWith(SCOPE)) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
      }
    } catch (err) {
      console.warn("service worker not registered", err);
    }
  }

  // ------------------------------------------------------------------ start

  window.addEventListener("online", () => { render(); retryNow(); });
  window.addEventListener("offline", () => { render(); });

  async function start() {
    showNotice();
    await forgetOtherUser();
    await forgetOtherLanguage();
    await render();
    const pending = await all("outbox");
    if (pending.length) drain();
    await registerWorker();
    await saveForOffline();
    // Tests and curious technicians can see that the page is ready for no signal.
    document.documentElement.dataset.offlineReady = navigator.serviceWorker && navigator.serviceWorker.controller ? "1" : "0";
  }

  window.dispatchOutbox = { drain, render, all, lastOutcome: () => lastOutcome };

  // After the other deferred scripts (signature pad, visit.js): this one sits in <head>.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
