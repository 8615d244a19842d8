/* The workshop board: drag a card onto another column to move the item there. Progressive: every card
 * also has a plain "Move" form (status select + button) that works without JavaScript; a drop sets that
 * form's status and submits it, so both paths go through the same page handler and service. */
(function () {
  "use strict";

  function start() {
    const board = document.querySelector(".workshop-board");
    if (!board || board.dataset.mayMove !== "true") return;
    let dragged = null;

    board.addEventListener("dragstart", (event) => {
      const card = event.target.closest(".ws-card");
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.id);
    });
    board.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      board.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
    });
    board.querySelectorAll(".ws-column").forEach((column) => {
      column.addEventListener("dragover", (event) => {
        if (!dragged) return;
        event.preventDefault();
        column.classList.add("drop-target");
      });
      column.addEventListener("dragleave", (event) => {
        if (!column.contains(event.relatedTarget)) column.classList.remove("drop-target");
      });
      column.addEventListener("drop", (event) => {
        event.preventDefault();
        column.classList.remove("drop-target");
        if (!dragged) return;
        const form = dragged.querySelector("form.ws-move");
        const select = form && form.querySelector("select[name=status]");
        const status = column.dataset.status;
        const from = dragged.closest(".ws-column");
        if (!select || !status || (from && from.dataset.status === status)) return;
        if (!Array.from(select.options).some((o) => o.value === status)) return;  // "received": the desk's
        select.value = status;
        column.querySelector(".ws-cards").appendChild(dragged);
        form.submit();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
