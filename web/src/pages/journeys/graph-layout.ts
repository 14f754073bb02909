// Lays a journey's step tree out as boxes and arrows, top to bottom: a step after a step, and a
// step that holds lanes (a branch's yes/no, a split's paths, a wait's then/timeout) with its lanes
// side by side under it, joining again below them. Plain arithmetic, no graph library: a journey
// is a tree, so each block's size is known from its children's.
import type { OutlineStep } from "@contract/journeys.contract";

export const BOX_W = 210;
export const BOX_H = 58;
const GAP_Y = 34;
const GAP_X = 20;
/** An empty lane is a line with room for its label. */
const EMPTY_LANE_W = 110;

export interface PlacedBox {
  step: OutlineStep;
  x: number;
  y: number;
}

export interface PlacedLine {
  points: Array<[number, number]>;
  label?: string;
}

export interface Block {
  width: number;
  height: number;
  boxes: PlacedBox[];
  lines: PlacedLine[];
}

function moved(block: Block, dx: number, dy: number): Block {
  return {
    width: block.width,
    height: block.height,
    boxes: block.boxes.map((b) => ({ ...b, x: b.x + dx, y: b.y + dy })),
    lines: block.lines.map((l) => ({ ...l, points: l.points.map(([x, y]) => [x + dx, y + dy] as [number, number]) })),
  };
}

/** Steps one after another, centred on one line; entry at the top centre, exit at the bottom centre. */
export function layoutList(steps: OutlineStep[]): Block {
  const blocks = steps.map(layoutStep);
  const width = Math.max(0, ...blocks.map((b) => b.width));
  const centre = width / 2;
  const out: Block = { width, height: 0, boxes: [], lines: [] };
  blocks.forEach((block, i) => {
    if (i > 0) {
      out.lines.push({ points: [[centre, out.height], [centre, out.height + GAP_Y]] });
      out.height += GAP_Y;
    }
    const placed = moved(block, centre - block.width / 2, out.height);
    out.boxes.push(...placed.boxes);
    out.lines.push(...placed.lines);
    out.height += block.height;
  });
  return out;
}

function layoutStep(step: OutlineStep): Block {
  if (step.lanes.length === 0) return { width: BOX_W, height: BOX_H, boxes: [{ step, x: 0, y: 0 }], lines: [] };
  const lanes = step.lanes.map((lane) => {
    const block = layoutList(lane.steps);
    return { label: lane.label, block: lane.steps.length === 0 ? { ...block, width: EMPTY_LANE_W } : block };
  });
  const lanesWidth = lanes.reduce((sum, l) => sum + l.block.width, 0) + GAP_X * (lanes.length - 1);
  const width = Math.max(BOX_W, lanesWidth);
  const centre = width / 2;
  const lanesTop = BOX_H + GAP_Y;
  const lanesHeight = Math.max(0, ...lanes.map((l) => l.block.height));
  const joinY = lanesTop + lanesHeight + GAP_Y;
  const out: Block = { width, height: joinY, boxes: [{ step, x: centre - BOX_W / 2, y: 0 }], lines: [] };
  let x = (width - lanesWidth) / 2;
  for (const lane of lanes) {
    const laneCentre = x + lane.block.width / 2;
    const placed = moved(lane.block, x, lanesTop);
    out.boxes.push(...placed.boxes);
    out.lines.push(...placed.lines);
    out.lines.push({ points: [[centre, BOX_H], [laneCentre, BOX_H + GAP_Y / 2], [laneCentre, lanesTop]], label: lane.label });
    out.lines.push({ points: [[laneCentre, lanesTop + lane.block.height], [laneCentre, joinY - GAP_Y / 2], [centre, joinY]] });
    x += lane.block.width + GAP_X;
  }
  return out;
}
