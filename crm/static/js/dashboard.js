// The dashboard's charts, drawn with ECharts from the JSON the page carries (no inline code).
// Each chart is laid out for the width its box has (a phone's 375 px, or a narrow column on a
// desktop): names are written whole above their bars, legends wrap instead of scrolling, value
// axes keep only the ticks that fit, and the box grows to what the names need.
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const months = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);
  const font = getComputedStyle(document.body).fontFamily;
  const SIZE = 12; // ECharts' default text size, in px
  const LINE = 16;
  const NARROW = 480; // below this a chart's box is laid out for a phone
  const ink = document.createElement("canvas").getContext("2d");
  ink.font = `${SIZE}px ${font}`;
  const textWidth = (text) => ink.measureText(String(text)).width;

  // Rows of a wrapping legend: ECharts puts items left to right and starts a row when full.
  const legendRows = (names, width) => {
    let rows = 1;
    let used = 0;
    names.forEach((name) => {
      const item = 25 + 5 + textWidth(name) + 10; // icon, gap, text, gap to the next
      if (used && used + item > width) {
        rows += 1;
        used = 0;
      }
      used += item;
    });
    return rows;
  };

  // Horizontal bars, each with its whole name written above it across the chart's width.
  // `valueAxis(width)`, if given, sets the value axis's end and step.
  const namedBars = (width, names, bars, valueLabel, valueAxis) => {
    const labelWidth = width - 24;
    const lines = Math.max(1, ...names.map((n) => Math.ceil(textWidth(n) / labelWidth)));
    const band = lines * LINE + 30; // the name, a small gap, the bar, room to the next name
    return {
      height: names.length * band + 36,
      option: {
        grid: { left: 16, right: 48, top: 8 + (lines - 1) * LINE, bottom: 28 },
        xAxis: {
          type: "value",
          minInterval: 1,
          ...(valueAxis ? valueAxis(width) : { splitNumber: width < NARROW ? 3 : 5 }),
          axisLabel: { hideOverlap: true, formatter: valueLabel },
        },
        yAxis: {
          type: "category",
          inverse: true,
          data: names,
          axisTick: { show: false },
          axisLabel: {
            inside: true,
            margin: 0,
            align: "left",
            verticalAlign: "bottom",
            padding: [0, 0, 9, 4],
            width: labelWidth,
            overflow: "break",
            lineHeight: LINE,
            color: "#212529",
          },
          z: 3,
        },
        series: [{
          type: "bar",
          barWidth: 10,
          data: bars,
          label: { show: true, position: "right", formatter: valueLabel.replace("value", "c") },
        }],
        tooltip: { trigger: "axis" },
      },
    };
  };

  const layouts = {
    progress: (width) => {
      const chart = namedBars(
        width,
        data.progress.map((p) => p.label),
        data.progress.map((p) => ({
          value: p.percent,
          itemStyle: { color: p.percent >= 100 ? "#198754" : "#0d6efd" },
        })),
        "{value}%",
        (w) => {
          // whole steps of a round size, 100% among the ticks, three of them on a phone
          const top = Math.max(100, ...data.progress.map((p) => p.percent));
          const most = w < NARROW ? 3 : 6;
          const interval = [25, 50, 100, 200, 500, 1000, 2000, 5000]
            .find((step) => step * most >= top) || Math.ceil(top / most / 1000) * 1000;
          return { interval, max: Math.ceil(top / interval) * interval };
        },
      );
      chart.option.tooltip.valueFormatter = (v) => `${v}%`;
      return chart;
    },
    funnel: () => ({
      option: {
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel",
          sort: "none",
          minSize: "10%",
          label: { formatter: "{b} {c}", color: "#212529" },
          data: data.funnel.map((s) => ({ name: s.label, value: s.count })),
        }],
      },
    }),
    visits: (width) => {
      const names = data.visits.map((o) => o.name);
      // every officer's name in view: the legend wraps above the bars instead of paging
      const top = legendRows(names, width - 16) * 24 + 16;
      return {
        height: 260 + top,
        option: {
          legend: { type: "plain", top: 0, left: 8, right: 8 },
          grid: { left: 8, right: 8, top, bottom: 8, containLabel: true },
          tooltip: { trigger: "axis" },
          xAxis: { type: "category", data: months, axisLabel: { hideOverlap: true } },
          yAxis: { type: "value", minInterval: 1 },
          series: data.visits.map((o) => ({
            name: o.name, type: "bar", stack: "visits", data: o.months,
          })),
        },
      };
    },
    industries: (width) => {
      if (width >= NARROW) {
        return {
          option: {
            tooltip: { trigger: "item", formatter: "{b}: {c} 项 ({d}%)" },
            series: [{ type: "pie", radius: ["35%", "70%"], data: data.industries }],
          },
        };
      }
      // too narrow for names around the ring: they go below it, whole, with their counts
      const count = Object.fromEntries(data.industries.map((i) => [i.name, i.value]));
      const label = (name) => `${name} ${count[name]}`;
      const rows = legendRows(data.industries.map((i) => label(i.name)), width - 16);
      return {
        height: 240 + rows * 24,
        option: {
          tooltip: { trigger: "item", formatter: "{b}: {c} 项 ({d}%)" },
          legend: { type: "plain", bottom: 0, left: 8, right: 8, formatter: label },
          series: [{
            type: "pie",
            center: ["50%", 112],
            radius: [44, 100],
            label: { show: false },
            data: data.industries,
          }],
        },
      };
    },
    institutions: (width) => namedBars(
      width,
      data.institutions.map((i) => i.name),
      data.institutions.map((i) => i.value),
      "{value}",
    ),
  };

  const charts = [];
  const draw = (element, chart) => {
    const { height, option } = layouts[element.dataset.chart](element.clientWidth);
    if (height) element.style.height = `${height}px`;
    // tooltips drawn inside the chart's SVG: ECharts' HTML tooltips carry style attributes,
    // which the content security policy refuses (and they lost their look)
    option.tooltip = { ...option.tooltip, renderMode: "richText", confine: true };
    chart.setOption({ animation: false, textStyle: { fontFamily: font }, ...option }, true);
    chart.resize();
  };
  document.querySelectorAll("[data-chart]").forEach((element) => {
    if (!layouts[element.dataset.chart]) return;
    const chart = echarts.init(element, null, { renderer: "svg" });
    draw(element, chart);
    charts.push([element, chart]);
  });
  let pending = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(() => charts.forEach(([element, chart]) => draw(element, chart)), 100);
  });
})();
