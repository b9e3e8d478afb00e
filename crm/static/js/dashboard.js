// The dashboard's charts, drawn with ECharts from the JSON the page carries (no inline code).
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const months = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);
  const options = {
    progress: () => ({
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: (v) => Math.max(100, v.max), axisLabel: { formatter: "{value}%" } },
      yAxis: {
        type: "category",
        inverse: true,
        data: data.progress.map((p) => p.label),
        axisLabel: { width: 150, overflow: "truncate" },
      },
      series: [{
        type: "bar",
        data: data.progress.map((p) => ({
          value: p.percent,
          itemStyle: { color: p.percent >= 100 ? "#198754" : "#0d6efd" },
        })),
        label: { show: true, position: "right", formatter: "{c}%" },
      }],
      tooltip: { trigger: "axis", valueFormatter: (v) => `${v}%` },
    }),
    funnel: () => ({
      tooltip: { trigger: "item", formatter: "{b}: {c}" },
      series: [{
        type: "funnel",
        sort: "none",
        minSize: "10%",
        label: { formatter: "{b} {c}" },
        data: data.funnel.map((s) => ({ name: s.label, value: s.count })),
      }],
    }),
    visits: () => ({
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 8, right: 8, top: 16, bottom: 40, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: months },
      yAxis: { type: "value", minInterval: 1 },
      series: data.visits.map((o) => ({ name: o.name, type: "bar", stack: "visits", data: o.months })),
    }),
    industries: () => ({
      tooltip: { trigger: "item", formatter: "{b}: {c} 项 ({d}%)" },
      series: [{ type: "pie", radius: ["35%", "70%"], data: data.industries }],
    }),
    institutions: () => ({
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: {
        type: "category",
        inverse: true,
        data: data.institutions.map((i) => i.name),
        axisLabel: { width: 110, overflow: "truncate" },
      },
      series: [{ type: "bar", data: data.institutions.map((i) => i.value), label: { show: true, position: "right" } }],
    }),
  };
  const charts = [];
  document.querySelectorAll("[data-chart]").forEach((element) => {
    const make = options[element.dataset.chart];
    if (!make) return;
    const chart = echarts.init(element, null, { renderer: "svg" });
    const option = make();
    // tooltips drawn inside the chart's SVG: ECharts' HTML tooltips carry style attributes,
    // which the content security policy refuses (and they lost their look)
    option.tooltip = { ...option.tooltip, renderMode: "richText", confine: true };
    chart.setOption({ animation: false, ...option });
    charts.push(chart);
  });
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
