// The Jobs list: refresh the table (at most once a second) when a job event arrives.
(function () {
  "use strict";
  if (window.tdsJobsListReady) return;
  window.tdsJobsListReady = true;
  var REFRESH_MS = 1000;
  var timer = null;
  document.addEventListener("htmx:sseMessage", function (evt) {
    var source = evt.target;
    if (!source || !source.hasAttribute || !source.hasAttribute("data-jobs-events")) return;
    var e;
    try { e = JSON.parse(evt.detail.data); } catch (err) { return; }
    if (Date.parse(e.created_at) < Date.parse(source.getAttribute("data-events-since"))) return;
    if (timer) return;
    timer = window.setTimeout(function () {
      timer = null;
      var table = document.getElementById("jobs-table");
      if (table && window.htmx) window.htmx.trigger(table, "jobs-refresh");
    }, REFRESH_MS);
  });
})();
