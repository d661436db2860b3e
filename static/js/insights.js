// KPI dashboard charts (Chart.js from the npm registry, copied by scripts/build-static.mjs).
// Data comes from a json_script element: no inline script, no string-built HTML.
(function () {
  function draw() {
    var el = document.getElementById("chart-data");
    if (!el || typeof window.Chart === "undefined") return;
    var data = JSON.parse(el.textContent);
    var series = document.getElementById("chart-series");
    if (series) {
      series.chart = new window.Chart(series, {
        data: {
          labels: data.labels,
          datasets: [
            { type: "line", label: "Average stars", data: data.avg_stars, yAxisID: "stars",
              borderColor: "#206bc4", backgroundColor: "#206bc4", spanGaps: true, tension: 0.2 },
            { type: "bar", label: "Responses", data: data.responses, yAxisID: "count",
              backgroundColor: "rgba(32,107,196,0.18)" },
          ],
        },
        options: {
          maintainAspectRatio: false, animation: false,
          scales: {
            stars: { position: "left", min: 1, max: 5, title: { display: true, text: "stars" } },
            count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                     title: { display: true, text: "responses" } },
          },
        },
      });
    }
    var stars = document.getElementById("chart-stars");
    if (stars) {
      stars.chart = new window.Chart(stars, {
        type: "bar",
        data: {
          labels: ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"],
          datasets: [{ label: "Ratings", data: data.stars,
                       backgroundColor: ["#d63939", "#f76707", "#f59f00", "#74b816", "#2fb344"] }],
        },
        options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
