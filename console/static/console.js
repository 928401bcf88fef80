/* rentwatch console: charts on the unit page (ECharts), small htmx glue. No inline scripts (CSP). */
(function () {
  "use strict";

  var COLORS = { ELECTRICITY: "#d9822b", WATER: "#2b7bd9", DOOR: "#6a4fb3" };
  var SHADE = { OCCUPIED_LIKE: "rgba(46, 160, 67, 0.12)", VACANT_LIKE: "rgba(150, 150, 150, 0.18)" };
  var OCCUPANCY = { OCCUPIED_LIKE: "推断有人", VACANT_LIKE: "推断空置" };
  var SEVERITY = { CRITICAL: "#c62828", WARNING: "#ef6c00", INFO: "#1565c0" };

  function renderChart(el) {
    if (!el.dataset.chart || typeof echarts === "undefined") { return; }
    var data = JSON.parse(el.dataset.chart);
    var previous = echarts.getInstanceByDom(el);
    if (previous) { previous.dispose(); }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var shaded = data.occupancy.map(function (r) {
      return [{ xAxis: r.from, itemStyle: { color: SHADE[r.state] || "rgba(0,0,0,0)" }, name: OCCUPANCY[r.state] || "",
                label: { show: false } }, { xAxis: r.to }];
    });
    var marks = data.alerts.map(function (a) {
      return { xAxis: a.day, name: a.label, label: { formatter: a.label, show: true, position: "insideEndTop", fontSize: 11 },
               lineStyle: { color: SEVERITY[a.severity] || "#c62828", type: "dashed" } };
    });
    var series = data.series.map(function (s, i) {
      var item = { name: s.name, type: s.key === "DOOR" ? "bar" : "line", data: s.data, yAxisIndex: s.key === "DOOR" ? 1 : 0,
                   connectNulls: false, showSymbol: data.days.length <= 31, itemStyle: { color: COLORS[s.key], opacity: s.key === "DOOR" ? 0.45 : 1 },
                   barMaxWidth: 10, z: s.key === "DOOR" ? 1 : 3 };
      if (i === 0) {
        item.markArea = { silent: true, data: shaded };
        item.markLine = { symbol: ["none", "triangle"], silent: false, data: marks };
      }
      return item;
    });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 32, bottom: 56 },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
      xAxis: { type: "category", data: data.days },
      yAxis: [{ type: "value", name: "kWh / m³" }, { type: "value", name: "次", splitLine: { show: false } }],
      series: series
    });
    el.setAttribute("data-rendered", "true");
  }

  function renderAll(root) {
    (root || document).querySelectorAll(".unit-chart").forEach(renderChart);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { renderAll(event.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll(".unit-chart").forEach(function (el) {
      var c = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (c) { c.resize(); }
    });
  });
  /* a 401 on an htmx request: the server answers HX-Redirect to the sign-in page; other errors show the fragment */
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status >= 400 && event.detail.xhr.status !== 401) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      event.detail.target = event.detail.elt.closest("td, .card, section") || event.detail.target;
      event.detail.swapOverride = "beforeend";
    }
  });
})();
