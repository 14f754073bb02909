// A segment's size over time as plain SVG bars (no chart library: one series of at most 120 bars).
import type { SizesAnswer } from "@contract/segments.contract";
import { formatMoment } from "../../ui/time";

const WIDTH = 600;
const HEIGHT = 120;

export function SizeChart({ sizes }: { sizes: SizesAnswer }) {
  const points = sizes.points;
  const most = Math.max(1, ...points.map((p) => p.size));
  const step = WIDTH / Math.max(1, points.length);
  const first = points[0];
  const last = points[points.length - 1];
  return (
    <figure style={{ margin: 0 }}>
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT + 14}`} role="img" aria-label={`Size per ${sizes.bucket}, from ${first?.size ?? 0} to ${last?.size ?? 0}`}>
        {points.map((p, i) => {
          const h = (p.size / most) * HEIGHT;
          return (
            <rect key={p.at} x={i * step + 1} y={HEIGHT - h} width={Math.max(1, step - 2)} height={Math.max(h, p.size > 0 ? 1 : 0)}>
              <title>{`${p.size} at ${new Date(p.at).toLocaleString()}`}</title>
            </rect>
          );
        })}
        {first && (
          <text x={0} y={HEIGHT + 12}>
            {formatMoment(first.at)}
          </text>
        )}
        <text x={WIDTH} y={HEIGHT + 12} textAnchor="end">
          now: {last?.size ?? 0} (most {most})
        </text>
      </svg>
    </figure>
  );
}
