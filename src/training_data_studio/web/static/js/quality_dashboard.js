// The Quality dashboard's charts, drawn from the JSON the page embeds (#quality-chart-data).
document.addEventListener("DOMContentLoaded", function () {
  if (!window.Chart) return;
  var data = JSON.parse(document.getElementById("quality-chart-data").textContent);
  Chart.defaults.color = "#566071";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  var grid = { color: "#e7eaef" };
  function bars(id, series, label, colour) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: series.labels, datasets: [{ label: label, data: series.counts, backgroundColor: colour, borderRadius: 4 }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 }, grid: grid }, x: { grid: { display: false } } } }
    });
  }
  bars("chart-histogram", data.histogram, "Conversations", "#3346c7");
  bars("chart-computed", data.computed, "Conversations", "#0f7a94");
  new Chart(document.getElementById("chart-statuses"), {
    type: "doughnut",
    data: { labels: data.statuses.labels, datasets: [{ data: data.statuses.counts, backgroundColor: data.statuses.colours, borderColor: "#ffffff", borderWidth: 2 }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "right" } } }
  });
  new Chart(document.getElementById("chart-trend"), {
    type: "line",
    data: { labels: data.trend.labels, datasets: [
      { label: "Self-reported (1–5)", data: data.trend.self_reported, borderColor: "#3346c7", backgroundColor: "#3346c7", yAxisID: "score", spanGaps: true },
      { label: "Computed (% of checks)", data: data.trend.computed, borderColor: "#0f7a94", backgroundColor: "#0f7a94", yAxisID: "percent", spanGaps: true }
    ] },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { score: { position: "left", min: 1, max: 5, grid: grid }, percent: { position: "right", min: 0, max: 100, grid: { display: false } } } }
  });
});
