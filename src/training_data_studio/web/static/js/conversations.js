(function () {
  "use strict";
  if (window.tdsConversationsReady) return;
  window.tdsConversationsReady = true;

  var lastOpener = null;

  function slideOver() { return document.getElementById("slide-over"); }

  /* Row expansion: the ▸ button shows or hides the row-details row under it. */
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest && evt.target.closest("[data-row-toggle]");
    if (!toggle) return;
    var details = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!details) return;
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    toggle.textContent = open ? "▸" : "▾";
    details.hidden = open;
  });

  /* Row selection lives in matrix-selection.js (kept across pages and filters). */

  /* Detail slide-over: opened when its content arrives; Esc closes it (native <dialog>); focus returns. */
  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest && evt.target.closest("[data-open-detail]");
    if (opener) lastOpener = opener;
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    var dialog = slideOver();
    if (!target || !dialog || !(target === dialog || dialog.contains(target))) return;
    if (!dialog.open) dialog.showModal();
    var title = dialog.querySelector("#detail-title");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus();
    }
  });
  document.addEventListener("close", function (evt) {
    if (evt.target !== slideOver()) return;
    if (lastOpener && document.body.contains(lastOpener)) lastOpener.focus();
  }, true);

  /* ← / → step to the previous / next conversation (in the slide-over when open, else on the detail page),
     unless the key is meant for a field or a tab list. */
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "ArrowLeft" && evt.key !== "ArrowRight") return;
    if (evt.altKey || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.defaultPrevented) return;
    var el = evt.target;
    if (el.closest && el.closest('input, textarea, select, [contenteditable="true"], [role="tablist"]')) return;
    var dialog = slideOver();
    var scope = document.getElementById("detail-body");
    if (dialog && dialog.open) scope = dialog;
    else if (!scope || (dialog && dialog.contains(scope))) return;
    var link = scope.querySelector(evt.key === "ArrowLeft" ? '[data-nav="prev"]' : '[data-nav="next"]');
    if (!link) return;
    evt.preventDefault();
    // Fetch directly rather than clicking: right after a swap, htmx may not have wired the new link yet.
    if (scope === dialog && window.htmx) {
      window.htmx.ajax("GET", link.getAttribute("href"), { target: "#slide-over", swap: "innerHTML" });
    } else {
      window.location.assign(link.getAttribute("href"));
    }
  });
})();
