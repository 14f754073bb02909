// A uPlot line chart in a React component: made once per set of series, fed new data in place,
// and sized to its box (so it fits a phone's width). uPlot draws on a canvas: the table under
// each chart says the same numbers in words for screen readers and keyboard users.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  color: string;
  /** Formats a value for the legend (counts as they are, rates as percentages). */
  format?: (value: number) => string;
}

const HEIGHT_PX = 240;

export function LineChart({ title, bucket, x, series, values, yRange }: { title: string; bucket: "day" | "hour"; x: number[]; series: ChartSeries[]; values: Array<Array<number | null>>; yRange?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = JSON.stringify([bucket, ...series.map((s) => s.label)]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const options: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: HEIGHT_PX,
      series: [
        { label: bucket === "hour" ? "Hour" : "Day", value: (_u, v) => (v === null ? "—" : new Date(v * 1000).toISOString().slice(0, bucket === "hour" ? 16 : 10).replace("T", " ")) },
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5 }, value: (_u: uPlot, v: number | null) => (v === null ? "—" : (s.format ?? String)(v)) })),
      ],
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => (series[0]?.format ?? String)(t)), size: 60 }],
      scales: { x: { time: true }, y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      cursor: { drag: { x: false, y: false } },
    };
    const chart = new uPlot(options, [x, ...values] as uPlot.AlignedData, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: HEIGHT_PX }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its series change; data alone is set in place below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([x, ...values] as uPlot.AlignedData);
  }, [x, values]);

  return (
    <figure className="stats-chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: chart`} />
    </figure>
  );
}
