/* The carry-back receipt form on the phone (templates/technicians/carry_back_form.html).
 *  - photos: the camera's pictures are shrunk on the phone (longest side 1600 px, JPEG) into hidden fields
 *    photos-N-image_base64, so the outbox sends them in the one JSON request with the receipt (the server
 *    re-encodes them again and strips all metadata); the thumbnails can be removed before sending;
 *  - the number: while the receipt waits in the outbox, the page says it is numbered when sent;
 *  - the visit page: choosing the outcome Carry-back sends the technician on to this form after saving.
 * The signature pad is visit.js's (the same component as the voucher). Words come from /i18n.js (I18N.t).
 */
(function () {
  "use strict";

  const MAX_SIDE = 1600;
  const QUALITY = 0.82;
  const t = (key, values) => (window.I18N ? window.I18N.t(key, values) : key);

  function shrink(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", QUALITY));
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function photoForm(form) {
    const input = form.querySelector("input[type=file]");
    const thumbs = form.querySelector(".cb-thumbs");
    const store = form.querySelector(".cb-photo-data");
    if (!input || !thumbs || !store) return;
    const max = parseInt(form.dataset.maxPhotos || "6", 10);
    const photos = [];  // data URLs, in order

    function paint() {
      store.replaceChildren(...photos.map((data, i) => {
        const hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = `photos-${i}-image_base64`;
        hidden.value = data;
        return hidden;
      }));
      thumbs.replaceChildren(...photos.map((data, i) => {
        const li = document.createElement("li");
        const img = document.createElement("img");
        img.src = data;
        img.alt = t("carry_back.photo", { n: i + 1 });
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "secondary cb-remove";
        remove.textContent = t("carry_back.remove");
        remove.addEventListener("click", () => { photos.splice(i, 1); paint(); });
        li.append(img, remove);
        return li;
      }));
      form.dataset.photoCount = String(photos.length);
    }

    input.addEventListener("change", async () => {
      const files = Array.from(input.files || []);
      for (const file of files) {
        if (photos.length >= max) { window.alert(t("carry_back.too_many", { n: max })); break; }
        try {
          photos.push(await shrink(file));
        } catch (err) {
          window.alert(t("carry_back.not_image", { name: file.name }));
        }
      }
      // The shrunk copies are sent; the originals (often several MB) are not.
      input.value = "";
      paint();
    });
  }

  // While the receipt waits in the outbox (no signal), say that the number comes when it is sent.
  function pendingNumber(form) {
    const note = form.querySelector("[data-pending-number]");
    if (!note) return;
    const show = () => { note.hidden = !form.classList.contains("outbox-queued"); };
    new MutationObserver(show).observe(form, { attributes: true, attributeFilter: ["class"] });
    show();
  }

  // The visit page: outcome Carry-back goes on to the receipt form once the work is saved.
  function carryBackOutcome() {
    const form = document.querySelector("form.complete-form[data-carry-back-url]");
    if (!form) return;
    form.addEventListener("submit", () => {
      const chosen = form.querySelector("input[name=outcome]:checked");
      if (chosen && chosen.value === "carry_back") {
        form.dataset.next = form.dataset.carryBackUrl;
        // No signal: the work waits in the outbox; go on to the receipt form (saved on the phone) at once.
        if (!navigator.onLine) window.setTimeout(() => window.location.assign(form.dataset.carryBackUrl), 500);
      } else {
        delete form.dataset.next;
      }
    }, true);
  }

  function start() {
    for (const form of document.querySelectorAll("form.carry-back-form")) {
      photoForm(form);
      pendingNumber(form);
    }
    carryBackOutcome();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
