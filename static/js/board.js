// The dispatch board: live booking-deadline countdowns (every 30 s), the suggestions panel, and a
// refresh that never throws away a form someone is typing into.
(function () {
  "use strict";

  // The words come from /i18n.js (JS_MESSAGES in dispatch/core/ui.py), the same as the server's countdown().
  function t(key, values) {
    return window.I18N ? window.I18N.t(key, values) : key;
  }

  // htmx 2 leaves 4xx answers unswapped; the board's 409 (already booked, overlapping) and 422 (a form
  // mistake) carry the panel with its message, so show them.
  function configureHtmx() {
    if (!window.htmx) { return; }
    window.htmx.config.responseHandling = [
      {code: "204", swap: false},
      {code: "[23]..", swap: true},
      {code: "409", swap: true, error: false},
      {code: "422", swap: true, error: false},
      {code: "[45]..", swap: false, error: true}
    ];
  }
  if (window.htmx) { configureHtmx(); } else { document.addEventListener("DOMContentLoaded", configureHtmx); }

  function formatSpan(minutes) {
    var span = Math.abs(minutes);
    var days = Math.floor(span / 1440), hours = Math.floor((span % 1440) / 60), mins = span % 60;
    var text = days ? t("span.days", {d: days, h: hours})
      : hours ? t("span.hours", {h: hours, m: String(mins).padStart(2, "0")})
      : t("span.minutes", {m: mins});
    return minutes < 0 ? t("countdown.overdue", {span: text}) : t("countdown.left", {span: text});
  }

  function updateCountdowns() {
    var now = Date.now();
    document.querySelectorAll(".deadline[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) { return; }
      var minutes = Math.floor((deadline - now) / 60000);
      var state = minutes < 0 ? "overdue" : minutes < 120 ? "amber" : "ok";
      el.classList.remove("deadline-ok", "deadline-amber", "deadline-overdue", "deadline-none");
      el.classList.add("deadline-" + state);
      var left = el.querySelector(".left");
      if (left) { left.textContent = formatSpan(minutes); }
    });
  }

  function busyTyping(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) { return true; }
    return !!region.querySelector("details[open]");
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var region = document.getElementById("board-live");
    // the 60-second refresh waits while someone fills in a move or cancel form
    if (region && evt.detail.elt === region && busyTyping(region)) { evt.preventDefault(); }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    updateCountdowns();
    var booked = document.querySelector("[data-booked-visit]");
    if (booked) {
      window.lastBookedVisit = booked.getAttribute("data-booked-visit");
    }
    if (window.lastBookedVisit) {
      var card = document.getElementById("visit-" + window.lastBookedVisit);
      if (card) { card.classList.add("just-booked"); }
    }
  });

  document.addEventListener("click", function (evt) {
    var close = evt.target.closest && evt.target.closest("[data-close-panel]");
    if (close) {
      var panel = document.getElementById("suggest-panel");
      if (panel) { panel.innerHTML = ""; }
      document.querySelectorAll(".queue-item.active").forEach(function (li) { li.classList.remove("active"); });
      return;
    }
    var queued = evt.target.closest && evt.target.closest(".queue-item");
    if (queued) {
      document.querySelectorAll(".queue-item.active").forEach(function (li) { li.classList.remove("active"); });
      queued.classList.add("active");
    }
  });

  // A move form's technicians: one list for the whole board (#technician-options), put into the visit's select
  // when its form opens; the visit's own technician stays selected (kept even when no longer in the list).
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (!details.open || !details.querySelector) { return; }
    var select = details.querySelector("select[data-technician-options]");
    var options = document.getElementById("technician-options");
    if (!select || !options || select.hasAttribute("data-filled")) { return; }
    var own = select.options[0];
    var current = select.value;
    select.textContent = "";
    select.appendChild(options.content.cloneNode(true));
    var listed = Array.prototype.some.call(select.options, function (o) { return o.value === current; });
    if (!listed && own) { select.insertBefore(own, select.firstChild); }
    select.value = current;
    select.setAttribute("data-filled", "");
  }, true);

  updateCountdowns();
  setInterval(updateCountdowns, 30000);
})();
