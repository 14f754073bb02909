// A journey drawn as boxes and arrows (graph-layout.ts) with each step's counts, and, when a
// person's run is chosen, the steps it passed highlighted with when.
import type { MetricsAnswer, OutlineStep, StepCounts } from "@contract/journeys.contract";
import { formatMoment } from "../../ui/time";
import { BOX_H, BOX_W, layoutList, type PlacedLine } from "./graph-layout";

const PAD = 16;
const START_H = 30;
const GAP = 30;

export interface Highlight {
  /** Steps the run passed, with when (the last time, if passed more than once). */
  passed: Map<string, number>;
  /** Where the run is now. */
  current: string | null;
}

export function JourneyGraph({ steps, trigger, metrics, highlight }: { steps: OutlineStep[]; trigger: string; metrics: MetricsAnswer | undefined; highlight: Highlight | null }) {
  const body = layoutList(steps);
  const width = Math.max(body.width, BOX_W) + PAD * 2;
  const centre = width / 2;
  const top = PAD + START_H + GAP;
  const height = top + body.height + GAP + START_H + PAD;
  const counts = new Map((metrics?.steps ?? []).map((s) => [s.stepId, s]));
  const dx = centre - body.width / 2;
  const endY = top + body.height + GAP;
  return (
    <div className="graph-wrap">
      <svg className="journey-graph" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`Journey graph: ${steps.length} top-level steps`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
          </marker>
        </defs>
        <g className="terminal">
          <rect x={centre - BOX_W / 2} y={PAD} width={BOX_W} height={START_H} rx={15} />
          <text x={centre} y={PAD + START_H / 2 + 4} textAnchor="middle">
            {clip(`Trigger: ${trigger}`, 32)}
          </text>
        </g>
        <Line line={{ points: [[centre, PAD + START_H], [centre, steps.length > 0 ? top : endY]] }} />
        <g transform={`translate(${dx} ${top})`}>
          {body.lines.map((line, i) => (
            <Line key={i} line={line} />
          ))}
          {body.boxes.map(({ step, x, y }) => (
            <StepBox key={step.id} step={step} x={x} y={y} counts={counts.get(step.id)} highlight={highlight} />
          ))}
        </g>
        {steps.length > 0 && <Line line={{ points: [[centre, top + body.height], [centre, endY]] }} />}
        <g className="terminal">
          <rect x={centre - 50} y={endY} width={100} height={START_H} rx={15} />
          <text x={centre} y={endY + START_H / 2 + 4} textAnchor="middle">
            End
          </text>
        </g>
      </svg>
    </div>
  );
}

function Line({ line }: { line: PlacedLine }) {
  const [a, b] = [line.points[0]!, line.points[1]!];
  return (
    <g className="edge">
      <polyline points={line.points.map(([x, y]) => `${x},${y}`).join(" ")} markerEnd="url(#arrow)" />
      {line.label && (
        <text x={(a[0] + b[0]) / 2 + (b[0] >= a[0] ? 6 : -6)} y={(a[1] + b[1]) / 2 + 4} textAnchor={b[0] >= a[0] ? "start" : "end"} className="edge-label">
          {clip(line.label, 18)}
        </text>
      )}
    </g>
  );
}

function StepBox({ step, x, y, counts, highlight }: { step: OutlineStep; x: number; y: number; counts: StepCounts | undefined; highlight: Highlight | null }) {
  const passedAt = highlight?.passed.get(step.id);
  const current = highlight?.current === step.id;
  const state = current ? "step-current" : passedAt !== undefined ? "step-passed" : highlight ? "step-off" : "";
  const c = counts ?? { entered: 0, waiting: 0, completed: 0, failed: 0, converted: 0, exited: 0 };
  return (
    <g className={`step ${state}`} data-step={step.id}>
      <title>{`${step.id} (${step.kind}): ${step.label}. ${c.entered} entered, ${c.waiting} waiting, ${c.completed} went on, ${c.failed} failed, ${c.converted} converted, ${c.exited} left the journey here${passedAt !== undefined ? `; this person passed it ${new Date(passedAt).toLocaleString()}` : ""}${current ? "; this person is here now" : ""}`}</title>
      <rect x={x} y={y} width={BOX_W} height={BOX_H} rx={6} />
      <text x={x + 8} y={y + 17} className="step-label">
        {clip(`${step.id} · ${step.label}`, 30)}
      </text>
      <text x={x + 8} y={y + 34} className="step-counts">
        {`${c.entered} in · ${c.waiting} waiting · ${c.completed} on`}
      </text>
      <text x={x + 8} y={y + 50} className="step-counts">
        {current ? "● here now" : passedAt !== undefined ? `✓ ${formatMoment(passedAt)}` : `${c.failed} failed · ${c.converted} conv · ${c.exited} exited`}
      </text>
    </g>
  );
}

function clip(text: string, most: number): string {
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}
