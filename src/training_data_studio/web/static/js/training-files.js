/*
 * The Matrix's "Add to training file" dialog: HTMX loads it into #training-file-dialog-host; this opens it
 * as a modal once it arrives. Closing uses app.js's [data-close-dialog].
 */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target || target.id !== "training-file-dialog-host") return;
    var dialog = target.querySelector("dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });
})();
