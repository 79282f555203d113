/* Analytics charts: cohort heat map and customer-value histogram (data from json_script blocks). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var font = { fontFamily: "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" };

  function chartFor(elementId, dataId) {
    var element = document.getElementById(elementId);
    var source = document.getElementById(dataId);
    if (!element || !source) {
      return null;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    window.addEventListener("resize", function () { chart.resize(); });
    return { chart: chart, element: element, data: JSON.parse(source.textContent) };
  }

  function ready(found) {
    found.element.setAttribute("data-chart-ready", "true");
  }

  var cohorts = chartFor("cohort-chart", "cohort-data");
  if (cohorts) {
    var d = cohorts.data;
    var highest = d.cells.reduce(function (max, cell) { return Math.max(max, cell[2]); }, 1);
    cohorts.chart.setOption({
      animation: false,
      textStyle: font,
      tooltip: {
        position: "top",
        formatter: function (p) {
          return d.labels.y + " " + d.months[p.value[1]] + "<br>" + d.labels.x + " " + p.value[0] + ": " + p.value[2] + "%";
        }
      },
      grid: { left: 8, right: 8, bottom: 100, top: 10, containLabel: true },
      xAxis: { type: "category", data: d.offsets, name: d.labels.x, nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
      yAxis: { type: "category", data: d.months, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0, max: highest, calculable: true, orient: "horizontal", left: "center", bottom: 0,
        text: [highest + "%", "0%"], inRange: { color: ["#fbf3ea", "#e0a526", "#c0392b"] }
      },
      series: [{
        name: d.labels.value, type: "heatmap", data: d.cells,
        label: { show: d.offsets.length <= 12, formatter: function (p) { return p.value[2] + "%"; }, fontSize: 10 }
      }]
    });
    ready(cohorts);
  }

  var trend = chartFor("repeat-trend-chart", "repeat-trend-data");
  if (trend) {
    var r = trend.data;
    var percent = function (v) { return v === null || v === undefined ? "–" : v + "%"; };
    trend.chart.setOption({
      animation: false,
      color: ["#c0392b", "#e0a526"],
      textStyle: font,
      tooltip: { trigger: "axis", valueFormatter: percent },
      legend: { top: 0, data: [r.labels.repeat_rate, r.labels.repeat_revenue_share] },
      grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
      xAxis: { type: "category", data: r.months, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", name: r.labels.percent, min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: r.labels.repeat_rate, type: "line", data: r.repeat_rate, connectNulls: true, symbolSize: 6 },
        { name: r.labels.repeat_revenue_share, type: "line", data: r.repeat_revenue_share, connectNulls: true, symbolSize: 6 }
      ]
    });
    ready(trend);
  }

  var clv = chartFor("clv-chart", "clv-data");
  if (clv) {
    clv.chart.setOption({
      animation: false,
      color: ["#c0392b"],
      textStyle: font,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 8, bottom: 50, top: 20, containLabel: true },
      xAxis: { type: "category", data: clv.data.labels, name: clv.data.axis, nameLocation: "middle", nameGap: 40, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: clv.data.series, type: "bar", data: clv.data.counts }]
    });
    ready(clv);
  }

  var check = chartFor("model-check-chart", "model-check-data");
  if (check) {
    var m = check.data;
    check.chart.setOption({
      animation: false,
      color: ["#9fb8d6", "#c0392b"],
      textStyle: font,
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [m.labels.actual, m.labels.predicted] },
      grid: { left: 8, right: 8, bottom: 30, top: 40, containLabel: true },
      xAxis: { type: "category", data: m.groups, name: m.labels.x, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", name: m.labels.y, nameTextStyle: { align: "left" } },
      series: [
        { name: m.labels.actual, type: "bar", data: m.actual },
        { name: m.labels.predicted, type: "line", data: m.predicted, symbolSize: 7, connectNulls: true }
      ]
    });
    ready(check);
  }
})();
