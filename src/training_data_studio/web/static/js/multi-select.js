/* Checkbox dropdowns ([data-multi-select], a <details> holding a fieldset of checkboxes) instead of list boxes
 * that need Ctrl-click. The <details> gives the keyboard for free (Enter or Space on the summary opens it, Tab
 * walks the checkboxes, Space ticks one); this adds what a dropdown is expected to do besides: the summary
 * names what is chosen, Esc closes and returns focus to the summary, and a click elsewhere or opening
 * another one closes it. Delegated to the document, so it keeps working after HTMX swaps. */
(function () {
  "use strict";
  if (window.tdsMultiSelectReady) return;
  window.tdsMultiSelectReady = true;

  var SELECTOR = "details[data-multi-select]";

  function describe(box) {
    var value = box.querySelector("[data-multi-select-value]");
    if (!value) return;
    var chosen = Array.prototype.map.call(box.querySelectorAll("input[type=checkbox]:checked"), function (input) {
      var label = input.closest("label");
      var text = label ? label.textContent : input.value;
      return text.replace(/\s*\(\d+\)\s*$/, "").trim();
    });
    value.textContent = chosen.length === 0 ? "Any" : chosen.length <= 2 ? chosen.join(", ") : chosen.length + " chosen";
  }

  function closeAll(except) {
    var open = document.querySelectorAll(SELECTOR + "[open]");
    for (var i = 0; i < open.length; i++) if (open[i] !== except) open[i].open = false;
  }

  document.addEventListener("change", function (evt) {
    var box = evt.target.closest && evt.target.closest(SELECTOR);
    if (box) describe(box);
  });
  document.addEventListener("toggle", function (evt) {
    var box = evt.target;
    if (!(box.matches && box.matches(SELECTOR)) || !box.open) return;
    closeAll(box);
    // A dropdown near the right edge opens leftwards rather than past the window.
    var panel = box.querySelector(".multi-select-panel");
    if (!panel) return;
    box.classList.remove("multi-select-flip");
    if (panel.getBoundingClientRect().right > document.documentElement.clientWidth) box.classList.add("multi-select-flip");
  }, true);
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var box = evt.target.closest && evt.target.closest(SELECTOR + "[open]");
    if (!box) return;
    evt.preventDefault();
    box.open = false;
    var summary = box.querySelector("summary");
    if (summary) summary.focus();
  });
  document.addEventListener("click", function (evt) {
    if (!(evt.target.closest && evt.target.closest(SELECTOR))) closeAll(null);
  });
})();
