/* The Matrix's row selection, kept across pages, filters and reloads of this tab.
 *
 * The selection is a map conversation_id -> {n: number, g: generatable} in sessionStorage, so moving to the
 * next page or changing a filter (both HTMX swaps of #matrix-results) keeps what was chosen. The page shows it
 * in three places: the row checkboxes of the rows on screen, the "N selected — Clear" bar, and
 * "Generate Selected (N)", whose N counts the selected conversations that can be generated (planned or failed)
 * and which says why when it is disabled. The hidden inputs in #selection-inputs carry every selected id to
 * the batch dialog, on this page or not.
 */
(function () {
  "use strict";
  if (window.tdsSelectionReady) return;
  window.tdsSelectionReady = true;

  var KEY = "tds.matrix.selection.v1";
  var BOXES = '#matrix-table tbody input[name="selected"]';
  var NONE_REASON = "Select planned or failed conversations to generate them.";

  function load() {
    try {
      var parsed = JSON.parse(window.sessionStorage.getItem(KEY) || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (err) {
      return {};
    }
  }
  var selection = load();

  function save() {
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify(selection));
    } catch (err) { /* storage full or disabled: the selection still lives until the page is left */ }
  }

  function rowOf(box) { return box.closest("tr"); }

  function remember(box) {
    var row = rowOf(box);
    if (box.checked) {
      selection[box.value] = {
        n: row ? Number(row.getAttribute("data-conversation-number")) : null,
        g: !!(row && row.hasAttribute("data-generatable")),
      };
    } else {
      delete selection[box.value];
    }
  }

  function ids() { return Object.keys(selection); }

  function render() {
    var boxes = document.querySelectorAll(BOXES);
    var onPage = 0;
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var entry = selection[box.value];
      box.checked = !!entry;
      var row = rowOf(box);
      if (row) {
        row.classList.toggle("is-selected", box.checked);
        // A row on screen knows its current status better than the stored flag.
        if (entry) entry.g = row.hasAttribute("data-generatable");
      }
      if (box.checked) onPage++;
    }
    save();
    var all = document.querySelector("#matrix-table [data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && onPage === boxes.length;
      all.indeterminate = onPage > 0 && onPage < boxes.length;
    }
    var chosen = ids();
    var total = chosen.length;
    var generatable = chosen.filter(function (id) { return selection[id].g; }).length;

    var counters = document.querySelectorAll("[data-selected-count]");
    for (var j = 0; j < counters.length; j++) counters[j].textContent = total + " selected";

    var bar = document.querySelector("[data-selection-bar]");
    if (bar) {
      bar.hidden = total === 0;
      var text = bar.querySelector("[data-selection-text]");
      var elsewhere = total - onPage;
      if (text) {
        text.textContent = total + " selected" + (elsewhere > 0 ? " (" + elsewhere + " not on this page)" : "");
      }
    }

    var inputs = document.getElementById("selection-inputs");
    if (inputs) {
      inputs.textContent = "";
      for (var k = 0; k < chosen.length; k++) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "selected";
        input.value = chosen[k];
        inputs.appendChild(input);
      }
    }

    var button = document.getElementById("generate-selected");
    if (button) {
      var reason = null;
      if (total === 0) reason = NONE_REASON;
      else if (generatable === 0) {
        reason = "None of the " + total + " selected conversations is planned or failed: " +
          "regenerate a generated one from its page.";
      }
      button.disabled = reason !== null;
      var count = button.querySelector("[data-count]");
      if (count) count.textContent = String(generatable);
      var why = document.getElementById("generate-selected-why");
      if (reason) {
        button.setAttribute("title", reason);
        button.setAttribute("aria-describedby", "generate-selected-why");
        if (why) why.textContent = reason;
      } else {
        button.removeAttribute("title");
        button.removeAttribute("aria-describedby");
      }
    }
  }

  function clear() {
    selection = {};
    render();
  }

  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!el.matches) return;
    if (el.matches("#matrix-table [data-select-all]")) {
      var boxes = document.querySelectorAll(BOXES);
      for (var i = 0; i < boxes.length; i++) {
        boxes[i].checked = el.checked;
        remember(boxes[i]);
      }
      render();
    } else if (el.matches(BOXES)) {
      remember(el);
      render();
    }
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-selection-clear]")) clear();
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "matrix-results") render();
  });
  document.addEventListener("tds:row-refreshed", render);
  /* A batch job started from the selection: those conversations are queued now, so the selection is done. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    var xhr = evt.detail && evt.detail.xhr;
    if (!elt || !xhr || !evt.detail.successful) return;
    if (elt.matches && elt.matches("form[data-from-selection]") && xhr.getResponseHeader("HX-Redirect")) {
      selection = {};
      save();
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
