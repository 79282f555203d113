/* A store's audit scores by visit (0–100), one point per visit. */
(function () {
  "use strict";
  var element = document.getElementById("trend-chart");
  var source = document.getElementById("trend-data");
  if (!element || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: ["#c0392b"],
    textStyle: { fontFamily: "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" },
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 16, bottom: 8, top: 30, containLabel: true },
    xAxis: { type: "category", data: data.at.map(function (at) { return at.slice(0, 10); }) },
    yAxis: { type: "value", min: 0, max: 100, name: data.labels.score },
    series: [{ name: data.labels.score, type: "line", data: data.score, symbolSize: 8, label: { show: true } }]
  });
  element.setAttribute("data-chart-ready", "true");
  window.addEventListener("resize", function () { chart.resize(); });
})();
