/* The visit page's small helpers; every form also works without them.
 *  - labor: the minutes since arrival, kept current until the technician types a value;
 *  - parts: search the catalogue by sku or name (GET /api/v1/parts?q=) and fill a row;
 *  - sign-off: the signature pad (vendored signature_pad 5.1.4) fills the hidden image field;
 *  - Today: a sideways swipe switches between today and tomorrow (the tabs do the same).
 * Its words come from /i18n.js (I18N.t), in the user's language.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ labor prefill
  function laborClock() {
    const input = document.querySelector("input[name=labor_minutes][data-arrived-at]");
    if (!input || !input.dataset.arrivedAt || input.dataset.prefill !== "yes") return;
    const arrived = Date.parse(input.dataset.arrivedAt);
    if (Number.isNaN(arrived)) return;
    let touched = false;
    input.addEventListener("input", () => { touched = true; });
    const update = () => {
      if (touched) return;
      input.value = String(Math.max(0, Math.min(1440, Math.ceil((Date.now() - arrived) / 60000))));
    };
    update();
    window.setInterval(update, 30000);
  }

  // ------------------------------------------------------------------ parts picker
  function partsPicker() {
    const box = document.querySelector(".part-search");
    const form = box && box.closest("form");
    if (!box || !form) return;
    const input = box.querySelector("input[type=search]");
    const list = box.querySelector(".part-results");
    const rows = form.querySelector(".part-rows");
    box.hidden = false;
    let timer = null;
    let asked = "";

    function emptyRow() {
      for (const row of rows.querySelectorAll(".part-row")) {
        const sku = row.querySelector(".part-sku");
        if (sku && !sku.value.trim()) return row;
      }
      // All rows used: copy the last one with the next index (parts-N-sku, parts-N-quantity).
      const last = rows.querySelector(".part-row:last-child");
      const index = rows.querySelectorAll(".part-row").length;
      const copy = last.cloneNode(true);
      for (const el of copy.querySelectorAll("[name], [id], [for]")) {
        for (const attr of ["name", "id", "for"]) {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/parts-\d+-/, `parts-${index}-`));
        }
      }
      copy.querySelector(".part-sku").value = "";
      copy.querySelector(".part-qty").value = "1";
      rows.appendChild(copy);
      return copy;
    }

    function choose(part) {
      const existing = Array.from(rows.querySelectorAll(".part-sku")).find((el) => el.value.trim() === part.sku);
      if (existing) {
        const qty = existing.closest(".part-row").querySelector(".part-qty");
        qty.value = String((parseInt(qty.value, 10) || 0) + 1);
        qty.focus();
      } else {
        const row = emptyRow();
        row.querySelector(".part-sku").value = part.sku;
        const qty = row.querySelector(".part-qty");
        if (!qty.value) qty.value = "1";
        qty.focus();
      }
      list.replaceChildren();
      input.value = "";
    }

    async function search(q) {
      asked = q;
      if (q.length < 1) { list.replaceChildren(); return; }
      let items = [];
      try {
        const url = `${input.dataset.partsUrl}?q=${encodeURIComponent(q)}&limit=8`;
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        items = (await response.json()).items || [];
      } catch (err) {
        // Offline: the typed sku still works (the datalist holds the catalogue).
        return;
      }
      if (asked !== q) return;
      list.replaceChildren(...items.map((part) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `${part.sku} · ${part.name} · ${part.unit_price}`;
        button.addEventListener("click", () => choose(part));
        li.appendChild(button);
        return li;
      }));
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => search(input.value.trim()), 200);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {  // never submit the completion from the search box
        event.preventDefault();
        const first = list.querySelector("button");
        if (first) first.click();
      }
    });
  }

  // ------------------------------------------------------------------ signature pad
  function signaturePad() {
    const canvas = document.getElementById("signature-pad");
    if (!canvas || typeof window.SignaturePad !== "function") return;
    const form = canvas.closest("form");
    const hidden = form.querySelector("input[name=image_png_base64]");
    const wrap = canvas.closest(".pad-wrap");
    const pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#10213f" });
    canvas.signaturePad = pad;  // the offline outbox reads the signature from here too
    window.signaturePad = pad;

    function store() {
      hidden.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
      wrap.classList.toggle("signed", !pad.isEmpty());
    }

    function resize() {
      // Draw at the screen's pixel density; resizing clears the canvas, so keep the strokes.
      const data = pad.toData();
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (data.length) pad.fromData(data);
      store();
    }

    pad.addEventListener("endStroke", store);
    window.addEventListener("resize", resize);
    resize();
    form.querySelector(".pad-clear").addEventListener("click", () => { pad.clear(); store(); });
    form.addEventListener("submit", (event) => {
      store();
      if (pad.isEmpty()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        window.alert(window.I18N ? window.I18N.t("visit.not_signed") : "visit.not_signed");
      }
    }, true);
  }

  // ------------------------------------------------------------------ Today / Tomorrow by swiping
  function daySwipe() {
    const tabs = document.querySelectorAll(".tabs a");
    if (tabs.length !== 2) return;
    let x0 = null;
    let y0 = null;
    document.addEventListener("touchstart", (event) => {
      const t = event.changedTouches[0];
      x0 = t.clientX; y0 = t.clientY;
    }, { passive: true });
    document.addEventListener("touchend", (event) => {
      if (x0 === null) return;
      const t = event.changedTouches[0];
      const dx = t.clientX - x0;
      const dy = t.clientY - y0;
      x0 = null;
      if (Math.abs(dx) < 80 || Math.abs(dy) > 50) return;
      const target = dx < 0 ? tabs[1] : tabs[0];  // swipe left: tomorrow; right: today
      if (target.getAttribute("aria-current") !== "page") window.location.href = target.href;
    }, { passive: true });
  }

  function start() {
    daySwipe();
    laborClock();
    partsPicker();
    signaturePad();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
