/* The Import page's chosen files: a count, then one line per file with its size, instead of one dense line of
 * names. A static file (no inline script), re-run safely after an HTMX history restore. */
(function () {
  "use strict";
  if (window.tdsImportFilesReady) return;
  window.tdsImportFilesReady = true;

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function show(input) {
    var box = document.querySelector("[data-chosen-files]");
    if (!box) return;
    var summary = box.querySelector("[data-chosen-summary]");
    var list = box.querySelector("[data-chosen-list]");
    var files = Array.prototype.slice.call(input.files || []);
    var total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    if (summary) {
      summary.textContent = files.length
        ? files.length + (files.length === 1 ? " file" : " files") + " chosen (" + size(total) + "):"
        : "No file chosen yet.";
    }
    if (!list) return;
    list.textContent = "";
    files.forEach(function (f) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "mono";
      name.textContent = f.name;
      var bytes = document.createElement("span");
      bytes.className = "muted";
      bytes.textContent = " " + size(f.size);
      item.appendChild(name);
      item.appendChild(bytes);
      list.appendChild(item);
    });
    list.hidden = files.length === 0;
  }

  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "import-files") show(evt.target);
  });
  /* Dropped files reach the input through app.js, which fires "change" too. */
})();
