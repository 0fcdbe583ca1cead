(function () {
  "use strict";
  if (window.tdsJobDashboardReady) return;
  window.tdsJobDashboardReady = true;

  var REFRESH_MS = 300;
  var PROGRESS_TOAST_EVERY = 10;
  var LEVEL_CLASS = { success: "log-ok", warning: "log-warn", error: "log-error" };
  var refreshTimer = null;
  var lastRefresh = 0;
  var generated = null;

  function dashboard() { return document.querySelector("[data-job-dashboard]"); }

  /* Leading and trailing: the first event re-renders at once, a burst at most every REFRESH_MS, and the last
     event of a burst is always followed by a re-render. */
  function scheduleRefresh() {
    if (refreshTimer) return;
    var wait = Math.max(0, lastRefresh + REFRESH_MS - Date.now());
    refreshTimer = window.setTimeout(function () {
      refreshTimer = null;
      lastRefresh = Date.now();
      var live = document.getElementById("job-live");
      if (live && window.htmx) window.htmx.trigger(live, "job-refresh");
    }, wait);
  }

  function appendLine(log, e) {
    var line = document.createElement("span");
    line.className = "log-line";
    line.setAttribute("data-event-id", String(e.id));
    var time = document.createElement("span");
    time.className = "log-time";
    time.title = e.created_at;
    time.textContent = String(e.created_at).substr(11, 8);
    line.appendChild(time);
    if (e.conversation_number !== null && e.conversation_number !== undefined) {
      var number = document.createElement("span");
      number.className = "log-step";
      number.textContent = "#" + e.conversation_number;
      line.appendChild(number);
      line.appendChild(document.createTextNode(" "));
    }
    var message = document.createElement("span");
    if (LEVEL_CLASS[e.level]) message.className = LEVEL_CLASS[e.level];
    message.textContent = e.message;
    line.appendChild(message);
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.appendChild(line);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function toast(message, kind) {
    if (window.tds && window.tds.toast) window.tds.toast(message, kind);
  }

  /* US-TRAIN-003/005: a toast per conversation for small jobs, every ten for large ones, and at the end. */
  function announce(e, dash) {
    var total = Number(dash.getAttribute("data-job-total") || 0);
    if (e.step === "complete") {
      if (generated === null) {
        var shown = document.querySelector("[data-generated]");
        generated = shown ? Number(shown.textContent) || 0 : 0;
      }
      generated += 1;
      if (total <= PROGRESS_TOAST_EVERY) toast(e.message, "success");
      else if (generated % PROGRESS_TOAST_EVERY === 0) toast("Progress: " + generated + " of " + total + " conversations generated.", "info");
    } else if (e.step === "job_completed") {
      toast(e.message, e.level === "success" ? "success" : "info");
    }
  }

  document.addEventListener("htmx:sseMessage", function (evt) {
    var log = evt.target;
    if (!log || log.id !== "job-log") return;
    var dash = dashboard();
    if (!dash || !evt.detail || typeof evt.detail.data !== "string") return;
    var e;
    try { e = JSON.parse(evt.detail.data); } catch (err) { return; }
    var last = Number(dash.getAttribute("data-last-event-id") || 0);
    if (!(e.id > last)) return;
    dash.setAttribute("data-last-event-id", String(e.id));
    appendLine(log, e);
    scheduleRefresh();
    announce(e, dash);
  });

  /* The quality chart (Chart.js) of the final summary; its numbers are also in the table under it. */
  function initCharts(scope) {
    if (!window.Chart) return;
    var canvases = (scope || document).querySelectorAll("canvas[data-chart]");
    var color = getComputedStyle(document.documentElement).getPropertyValue("--color-primary").trim() || "#3056d3";
    for (var i = 0; i < canvases.length; i++) {
      if (window.Chart.getChart(canvases[i])) continue;
      var data;
      try { data = JSON.parse(canvases[i].getAttribute("data-chart")); } catch (err) { continue; }
      new window.Chart(canvases[i], {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: "Conversations", data: data.counts, backgroundColor: color }] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { title: { display: true, text: "Quality score" } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    }
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target || target.id !== "job-live" || !window.Chart) return;
    var canvases = target.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      var chart = window.Chart.getChart(canvases[i]);
      if (chart) chart.destroy();
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (target && target.id === "job-live") initCharts(target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initCharts(document); });
  } else {
    initCharts(document);
  }
})();
