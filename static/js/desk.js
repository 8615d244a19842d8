/* The desk's small enhancements. Every page works without this file. */
(function () {
  "use strict";

  // htmx 2 leaves 4xx answers unswapped; a 422 carries the form with its messages, so show it.
  function configureHtmx() {
    if (!window.htmx) return;
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true }
    ];
  }

  // The words come from /i18n.js (the page's language); without it, English.
  function t(key, english, values) {
    var text = window.I18N ? window.I18N.t(key, values) : english;
    if (!window.I18N) {
      text = text.replace(/%\((\w+)\)s/g, function (whole, name) { return String(values[name]); });
    }
    return text;
  }

  // A span as the server writes it (i18n.span_text): 45 min, 3 h 05 min, 2 d 4 h.
  function spanText(minutes) {
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days) return t("span.days", "%(d)s d %(h)s h", { d: days, h: hours });
    if (hours) return t("span.hours", "%(h)s h %(m)s min", { h: hours, m: String(mins).padStart(2, "0") });
    return t("span.minutes", "%(m)s min", { m: mins });
  }

  // Countdowns tick while the page stays open.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var minutes = Math.floor((Date.parse(el.dataset.deadline) - now) / 60000);
      var text = spanText(Math.abs(minutes));
      var left = el.querySelector(".left");
      if (left) {
        left.textContent = minutes < 0 ? t("countdown.overdue", "overdue by %(span)s", { span: text })
          : t("countdown.left", "%(span)s left", { span: text });
      }
      el.classList.remove("deadline-ok", "deadline-amber", "deadline-overdue");
      el.classList.add(minutes < 0 ? "deadline-overdue" : minutes < 120 ? "deadline-amber" : "deadline-ok");
    });
  }

  // The intake page, fast with a keyboard: type, arrow down into the matches, Enter to pick.
  function keyboard(event) {
    var target = event.target;
    var results = document.getElementById("customer-results");
    if (target.id === "q" && results) {
      var first = results.querySelector("button");
      if (event.key === "ArrowDown" && first) { event.preventDefault(); first.focus(); }
      if (event.key === "Enter") { event.preventDefault(); if (first) first.click(); }
      return;
    }
    if (results && results.contains(target) && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      var buttons = Array.prototype.slice.call(results.querySelectorAll("button"));
      var i = buttons.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1);
      event.preventDefault();
      if (i < 0) document.getElementById("q").focus(); else if (buttons[i]) buttons[i].focus();
      return;
    }
    // Enter inside an inline "add" block presses that block's button, not "Save call".
    var block = target.closest && target.closest("[data-enter]");
    if (block && event.key === "Enter" && target.tagName === "INPUT") {
      event.preventDefault();
      var button = block.querySelector("button[type=submit]");
      if (button) button.click();
    }
  }

  // After a customer is picked, go on with the site (or the problem when there is nothing to choose).
  function afterSwap(event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "picked") return;
    var picked = document.getElementById("picked");  // an outerHTML swap leaves the target detached
    if (!picked) return;
    var invalid = picked.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); return; }
    var site = picked.querySelector("input[name=site_id]:checked") || picked.querySelector("input[name=site_id]");
    var problem = document.getElementById("problem_type");
    if (picked.querySelector("input[name=customer_id]").value === "") {
      var q = document.getElementById("q"); if (q) q.focus();
    } else if (problem && !problem.value) {
      problem.focus();
    } else if (site) {
      site.focus();
    }
  }

  // The intake's category line follows the equipment picked; a site with one piece of equipment picks it.
  function showPreview(radio) {
    var box = document.getElementById("category-preview");
    if (!box) return;
    var preview = radio && radio.closest("label") && radio.closest("label").querySelector(".preview");
    box.textContent = "";
    if (!preview) { box.textContent = box.dataset.none || ""; return; }
    box.appendChild(document.createTextNode(t("intake.will_be", "This call will be:", {}) + " "));
    box.appendChild(preview.cloneNode(true));
  }

  function intakeChange(event) {
    var target = event.target;
    if (target.name === "equipment_id") {
      document.querySelectorAll("input[name=equipment_id]").forEach(function (r) { delete r.dataset.auto; });
      showPreview(target);
    } else if (target.name === "site_id") {
      var checked = document.querySelector("input[name=equipment_id]:checked");
      if (checked && !checked.dataset.auto) return;  // the dispatcher's own choice stays
      var here = Array.prototype.filter.call(document.querySelectorAll("input[name=equipment_id]"), function (r) {
        return r.dataset.site === target.value;
      });
      if (checked) { checked.checked = false; delete checked.dataset.auto; }
      if (here.length === 1) { here[0].checked = true; here[0].dataset.auto = "1"; }
      showPreview(here.length === 1 ? here[0] : null);
    }
  }

  document.addEventListener("change", intakeChange);
  document.addEventListener("DOMContentLoaded", function () {
    configureHtmx();
    tick();
    setInterval(tick, 30000);
  });
  document.addEventListener("keydown", keyboard);
  document.addEventListener("htmx:afterSwap", afterSwap);
})();
