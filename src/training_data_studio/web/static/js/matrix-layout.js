/* The Matrix's filter panel is a <details>, open as the page arrives. On a phone it is taller than the screen,
 * so it starts folded there (its summary says how many filters are active); on a desktop it stays open. Only
 * the first load decides: after that it stays as the user leaves it, HTMX swaps included. */
(function () {
  "use strict";
  if (window.tdsMatrixLayoutReady) return;
  window.tdsMatrixLayoutReady = true;

  var PHONE = "(max-width: 37.5rem)";

  function fold() {
    var panel = document.querySelector("[data-filters-panel]");
    if (panel && window.matchMedia && window.matchMedia(PHONE).matches) panel.open = false;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fold);
  else fold();
})();
