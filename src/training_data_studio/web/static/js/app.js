/*
 * Training Data Studio: small front-end helpers. Plain ES2017, no build step,
 * no dependencies (htmx is optional: its events are simply listened for).
 *
 *   window.tds.toast(message, kind)   kind: "success" | "error" | "info" (default "info");
 *       appended to the page's .toast-region (created if missing), or, while a modal
 *       <dialog> is open, to a region inside that dialog (moved back when it closes).
 *   window.tds.copyText(text)         Promise; clipboard API with a fallback
 *   window.tds.applyColumns([root])   re-apply remembered column visibility
 *
 * Wired automatically:
 *   - htmx:responseError -> error toast with error.message from a JSON body
 *     {"error": {"code": ..., "message": ...}}, else a generic message;
 *     htmx:sendError (network failure) -> error toast.
 *   - "showToast" event, e.g. response header
 *       HX-Trigger: {"showToast": {"message": "Saved", "kind": "success"}}
 *     (a plain string value also works: {"showToast": "Saved"}).
 *   - [data-copy-target="#id"] click -> copy that element's value/text.
 *   - input[type=checkbox][data-col-toggle="name"] -> toggles .col-hidden on every
 *     [data-col="name"]; remembered in localStorage under "tds.columns"
 *     ({"name": false} = hidden), re-applied after every htmx swap.
 *   - [data-dropzone] containing an input[type=file]: toggles .is-dragover and
 *     hands dropped files to the input (firing "change").
 *   - [data-open-dialog="#id"] click -> showModal() on that <dialog>;
 *     [data-close-dialog] click -> close the enclosing <dialog>.
 */
(function () {
  "use strict";

  var tds = (window.tds = window.tds || {});
  var TOAST_MS = 5000;
  var COLUMNS_KEY = "tds.columns";
  var KINDS = { success: true, error: true, info: true };

  /* ---------------------------------------------------------------- */
  /* Toasts                                                            */
  /* ---------------------------------------------------------------- */
  function makeRegion(parent) {
    var region = document.createElement("div");
    region.className = "toast-region";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    parent.appendChild(region);
    return region;
  }

  /* The page's own region (the first .toast-region outside any <dialog>). */
  function pageRegion() {
    var all = document.querySelectorAll(".toast-region");
    for (var i = 0; i < all.length; i++) {
      if (!all[i].closest("dialog")) return all[i];
    }
    return makeRegion(document.body);
  }

  function openModal() {
    var found = [];
    try {
      found = document.querySelectorAll("dialog:modal");
    } catch (e) {
      found = [];
    }
    return found.length ? found[found.length - 1] : null;
  }

  /* A modal <dialog> sits in the top layer and makes the rest of the page inert
     (toasts there would be hidden behind it, unclickable and not announced), so
     while one is open toasts go to a region inside it; when it closes they move
     back to the page region. */
  function toastRegion() {
    var dialog = openModal();
    if (!dialog) return pageRegion();
    for (var i = 0; i < dialog.children.length; i++) {
      if (dialog.children[i].classList.contains("toast-region")) return dialog.children[i];
    }
    return makeRegion(dialog);
  }

  document.addEventListener(
    "close",
    function (evt) {
      var dialog = evt.target;
      if (!dialog || dialog.tagName !== "DIALOG") return;
      var toasts = dialog.querySelectorAll(":scope > .toast-region > .toast:not(.is-leaving)");
      if (!toasts.length) return;
      var region = pageRegion();
      for (var i = 0; i < toasts.length; i++) region.appendChild(toasts[i]);
    },
    true
  );

  function removeToast(el) {
    if (!el || !el.parentNode || el.classList.contains("is-leaving")) return;
    el.classList.add("is-leaving");
    window.setTimeout(function () {
      if (el.parentNode) el.parentNode.removeChild(el);
    }, 200);
  }

  tds.toast = function (message, kind) {
    kind = KINDS[kind] ? kind : "info";
    var el = document.createElement("div");
    el.className = "toast toast-" + kind;
    if (kind === "error") el.setAttribute("role", "alert");

    var text = document.createElement("div");
    text.className = "toast-message";
    text.textContent = message == null ? "" : String(message);
    el.appendChild(text);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.innerHTML = "&times;";
    close.addEventListener("click", function () {
      removeToast(el);
    });
    el.appendChild(close);

    toastRegion().appendChild(el);
    window.setTimeout(function () {
      removeToast(el);
    }, TOAST_MS);
    return el;
  };

  function errorMessageFrom(xhr) {
    if (!xhr) return null;
    var body = xhr.responseText;
    if (!body) return null;
    try {
      var data = JSON.parse(body);
      if (data && data.error && typeof data.error.message === "string" && data.error.message) {
        return data.error.message;
      }
    } catch (e) {
      /* not JSON: fall through to the generic message */
    }
    return null;
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    var msg = errorMessageFrom(xhr);
    if (!msg) {
      var status = xhr && xhr.status ? " (HTTP " + xhr.status + ")" : "";
      msg = "Something went wrong" + status + ". Please try again.";
    }
    tds.toast(msg, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    tds.toast("Could not reach the server. Check your connection and try again.", "error");
  });

  /* htmx dispatches HX-Trigger events on the requesting element; they bubble here.
     (It also dispatches a kebab-case "show-toast" twin, deliberately not handled.) */
  document.addEventListener("showToast", function (evt) {
    var d = evt.detail || {};
    var message = typeof d.message === "string" ? d.message : d.value;
    if (message == null || message === "") return;
    tds.toast(message, d.kind || d.level || "info");
  });

  /* ---------------------------------------------------------------- */
  /* Copy to clipboard                                                 */
  /* ---------------------------------------------------------------- */
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.top = "-1000px";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  tds.copyText = function (text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  };

  document.addEventListener("click", function (evt) {
    var trigger = evt.target.closest && evt.target.closest("[data-copy-target]");
    if (!trigger) return;
    var target = null;
    try {
      target = document.querySelector(trigger.getAttribute("data-copy-target"));
    } catch (e) {
      target = null;
    }
    if (!target) {
      tds.toast("Nothing to copy.", "error");
      return;
    }
    evt.preventDefault();
    var text = "value" in target && typeof target.value === "string" ? target.value : target.innerText || target.textContent || "";
    tds.copyText(text).then(
      function () {
        tds.toast(trigger.getAttribute("data-copy-message") || "Copied to clipboard.", "success");
      },
      function () {
        tds.toast("Could not copy to the clipboard.", "error");
      }
    );
  });

  /* ---------------------------------------------------------------- */
  /* Column visibility                                                 */
  /* ---------------------------------------------------------------- */
  function loadColumns() {
    try {
      var raw = window.localStorage.getItem(COLUMNS_KEY);
      var data = raw ? JSON.parse(raw) : {};
      return data && typeof data === "object" && !Array.isArray(data) ? data : {};
    } catch (e) {
      return {};
    }
  }

  function saveColumns(state) {
    try {
      window.localStorage.setItem(COLUMNS_KEY, JSON.stringify(state));
    } catch (e) {
      /* storage disabled or full: the choice just is not remembered */
    }
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  function setColumn(name, visible, root) {
    var cells = (root || document).querySelectorAll('[data-col="' + cssEscape(name) + '"]');
    for (var i = 0; i < cells.length; i++) {
      cells[i].classList.toggle("col-hidden", !visible);
    }
  }

  tds.applyColumns = function (root) {
    var state = loadColumns();
    var toggles = document.querySelectorAll("input[data-col-toggle]");
    var seen = {};
    var i, name;
    for (i = 0; i < toggles.length; i++) {
      name = toggles[i].getAttribute("data-col-toggle");
      if (Object.prototype.hasOwnProperty.call(state, name)) {
        toggles[i].checked = state[name] !== false;
      }
      seen[name] = true;
      setColumn(name, toggles[i].checked, root);
    }
    for (name in state) {
      if (Object.prototype.hasOwnProperty.call(state, name) && !seen[name]) {
        setColumn(name, state[name] !== false, root);
      }
    }
  };

  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box || !box.matches || !box.matches("input[data-col-toggle]")) return;
    var name = box.getAttribute("data-col-toggle");
    var state = loadColumns();
    state[name] = !!box.checked;
    saveColumns(state);
    // keep duplicate toggles for the same column (e.g. desktop + mobile menus) in sync
    var twins = document.querySelectorAll('input[data-col-toggle="' + cssEscape(name) + '"]');
    for (var i = 0; i < twins.length; i++) twins[i].checked = box.checked;
    setColumn(name, box.checked);
  });

  document.addEventListener("htmx:afterSwap", function () {
    tds.applyColumns();
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    tds.applyColumns();
  });

  /* ---------------------------------------------------------------- */
  /* Drop zones                                                        */
  /* ---------------------------------------------------------------- */
  function zoneFor(evt) {
    return evt.target && evt.target.closest ? evt.target.closest("[data-dropzone]") : null;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (evt) {
      var zone = zoneFor(evt);
      if (!zone) return;
      evt.preventDefault();
      if (evt.dataTransfer) evt.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragover");
    });
  });
  document.addEventListener("dragleave", function (evt) {
    var zone = zoneFor(evt);
    if (zone && !zone.contains(evt.relatedTarget)) zone.classList.remove("is-dragover");
  });
  document.addEventListener("drop", function (evt) {
    var zone = zoneFor(evt);
    if (!zone) return;
    evt.preventDefault();
    zone.classList.remove("is-dragover");
    var input = zone.querySelector('input[type="file"]');
    var files = evt.dataTransfer && evt.dataTransfer.files;
    if (!input || !files || !files.length) return;
    try {
      input.files = files;
    } catch (e) {
      return;
    }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  /* ---------------------------------------------------------------- */
  /* Dialog open/close shortcuts                                       */
  /* ---------------------------------------------------------------- */
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var opener = evt.target.closest("[data-open-dialog]");
    if (opener) {
      var dlg = document.querySelector(opener.getAttribute("data-open-dialog"));
      if (dlg && typeof dlg.showModal === "function" && !dlg.open) {
        evt.preventDefault();
        dlg.showModal();
      }
      return;
    }
    var closer = evt.target.closest("[data-close-dialog]");
    if (closer) {
      var owner = closer.closest("dialog");
      if (owner) {
        evt.preventDefault();
        owner.close(closer.getAttribute("data-close-dialog") || "");
      }
    }
  });

  // An element with data-opens-dialog="ID" loads the dialog's content with HTMX, then opens <dialog id=ID>
  // (an hx-on attribute would need 'unsafe-eval' in the Content-Security-Policy).
  document.addEventListener("htmx:afterRequest", function (evt) {
    var opener = evt.detail && evt.detail.elt;
    if (!evt.detail.successful || !opener || !opener.closest) return;
    opener = opener.closest("[data-opens-dialog]");
    var dialog = opener && document.getElementById(opener.getAttribute("data-opens-dialog"));
    if (dialog && dialog.showModal) dialog.showModal();
  });

  // A full page may carry one message to show as a toast (e.g. after a redirect): <div data-flash-toast=...>.
  function showFlash() {
    var flash = document.querySelector("[data-flash-toast]");
    if (flash) tds.toast(flash.getAttribute("data-flash-toast"), "success");
  }

  function ready() {
    tds.applyColumns();
    showFlash();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
