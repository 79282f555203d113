/* Revenue by month (new vs returning, stacked) with the returning share as a line. */
(function () {
  "use strict";
  var element = document.getElementById("revenue-chart");
  var source = document.getElementById("revenue-data");
  if (!element || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;
  var money = function (value) {
    return "¥" + Number(value || 0).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: ["#9fb8d6", "#c0392b", "#e0a526"],
    textStyle: { fontFamily: "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      valueFormatter: function (value) { return value === null || value === undefined ? "–" : value; }
    },
    legend: { top: 0, data: [labels.new, labels.returning, labels.share] },
    grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
    xAxis: { type: "category", data: data.months, axisLabel: { hideOverlap: true } },
    yAxis: [
      {
        type: "value", name: labels.revenue, nameTextStyle: { align: "left" },
        axisLabel: { formatter: function (v) { return Number(v).toLocaleString(); } }
      },
      {
        type: "value", name: labels.percent, nameTextStyle: { align: "right" }, min: 0, max: 100,
        splitLine: { show: false }, axisLabel: { formatter: "{value}%" }
      }
    ],
    series: [
      { name: labels.new, type: "bar", stack: "revenue", data: data.new, tooltip: { valueFormatter: money } },
      { name: labels.returning, type: "bar", stack: "revenue", data: data.returning, tooltip: { valueFormatter: money } },
      {
        name: labels.share, type: "line", yAxisIndex: 1, data: data.share, connectNulls: true, smooth: true,
        symbolSize: 6, tooltip: { valueFormatter: function (v) { return v === null ? "–" : v + "%"; } }
      }
    ]
  });
  element.setAttribute("data-chart-ready", "true");
  window.addEventListener("resize", function () { chart.resize(); });
})();
