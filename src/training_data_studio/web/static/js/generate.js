(function () {
  "use strict";
  if (window.tdsGenerateReady) return;
  window.tdsGenerateReady = true;

  var ROW_REFRESH_MS = 300;
  // Steps after which a conversation's row shows something new (its status, score or error).
  var ROW_STEPS = { preparing_prompt: true, resumed_after_crash: true, complete: true, failed: true, aborted: true, skipped: true };
  var opener = null;
  var pendingRows = {};
  var rowTimer = null;

  /* Dialogs */
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-generate-opener]");
    if (button) opener = button;
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var host = document.getElementById("generate-dialog-host");
    if (!host || !evt.detail || evt.detail.target !== host) return;
    var dialog = host.querySelector("dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });
  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (!dialog || !dialog.matches || !dialog.matches("[data-generate-dialog]")) return;
    if (opener && document.body.contains(opener)) opener.focus();
  }, true);
  /* A modal <dialog> lets Tab leave for the browser's own controls; keep it cycling inside instead. */
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Tab" || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    var dialog = evt.target.closest && evt.target.closest("dialog[data-generate-dialog][open]");
    if (!dialog) return;
    var items = Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null || el === document.activeElement;
    });
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    if (evt.shiftKey && document.activeElement === first) {
      evt.preventDefault();
      last.focus();
    } else if (!evt.shiftKey && document.activeElement === last) {
      evt.preventDefault();
      first.focus();
    }
  });

  /* "Generate Selected (N)" is kept by matrix-selection.js, which follows the selection across pages. */

  /* Rows updated live */
  function refreshRow(id) {
    window.fetch("/conversations/" + encodeURIComponent(id) + "/row", { headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var old = document.querySelector('#matrix-table tr[data-conversation="' + CSS.escape(id) + '"]');
        if (!old) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.querySelector("tr");
        if (!fresh) return;
        var box = old.querySelector('input[name="selected"]');
        var freshBox = fresh.querySelector('input[name="selected"]');
        if (box && freshBox && box.checked) {
          freshBox.checked = true;
          fresh.classList.add("is-selected");
        }
        var toggle = old.querySelector("[data-row-toggle]");
        var freshToggle = fresh.querySelector("[data-row-toggle]");
        if (toggle && freshToggle) {
          freshToggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded"));
          freshToggle.textContent = toggle.textContent;
        }
        old.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        if (window.tds && window.tds.applyColumns) window.tds.applyColumns(fresh);
        document.dispatchEvent(new CustomEvent("tds:row-refreshed", { detail: { row: fresh } }));
      })
      .catch(function () { /* the next event, or a reload, shows the row's state */ });
  }
  function flushRows() {
    rowTimer = null;
    var ids = Object.keys(pendingRows);
    pendingRows = {};
    for (var i = 0; i < ids.length; i++) refreshRow(ids[i]);
  }
  document.addEventListener("htmx:sseMessage", function (evt) {
    var source = evt.target;
    if (!source || !source.hasAttribute || !source.hasAttribute("data-matrix-events")) return;
    var e;
    try { e = JSON.parse(evt.detail.data); } catch (err) { return; }
    // The stream starts with stored events; only those newer than this page change what it shows.
    if (Date.parse(e.created_at) < Date.parse(source.getAttribute("data-events-since"))) return;
    if (e.step === "job_completed" && window.tds) window.tds.toast(e.message, e.level === "success" ? "success" : "info");
    if (!ROW_STEPS[e.step] || e.conversation_number === null || e.conversation_number === undefined) return;
    var row = document.querySelector('#matrix-table tr[data-conversation-number="' + Number(e.conversation_number) + '"]');
    if (!row) return;
    pendingRows[row.getAttribute("data-conversation")] = true;
    if (!rowTimer) rowTimer = window.setTimeout(flushRows, ROW_REFRESH_MS);
  });

})();
