// One timeline of a person for the dashboard: tracked events and attribute changes (people),
// segment entries and exits (segments), journey entries and steps (journeys) and the messages sent
// to them (the outreach ledger), merged newest first. Each domain keeps its own part; this edge only
// reads them through their services and merges.
//
// Paging is by time: a page holds everything at or before `before`, cut so that it ends at a whole
// millisecond (the items of the millisecond where the cut falls go to the next page together), and
// `next` is that millisecond. Events, changes and segment history are read a page at a time; runs
// and messages are read as the person's latest RECENT_RUNS and RECENT_MESSAGES, which covers every
// person but the busiest (said in docs/dashboard/people.md).
import type { PeopleService } from "../../people/people.service.js";
import type { SegmentsService } from "../../segments/segments.service.js";
import type { JourneysService } from "../../journeys/journeys.service.js";
import type { OutreachLedger } from "../../channels/email/outreach.port.js";
import type { TimelineAnswer, TimelineItem } from "./people.contract.js";

const RECENT_RUNS = 200;
const RECENT_MESSAGES = 200;

export interface TimelineDeps {
  people: Pick<PeopleService, "activityUpTo">;
  segments: Pick<SegmentsService, "historyBetween" | "list">;
  journeys: Pick<JourneysService, "runsOf" | "list">;
  outreachLedger: Pick<OutreachLedger, "messagesOf">;
}

export async function personTimeline(deps: TimelineDeps, workspaceId: string, personId: string, options: { before: number | null; limit: number }): Promise<TimelineAnswer> {
  const { before, limit } = options;
  const notAfter = (at: number) => before === null || at <= before;
  const [activity, history, runs, messages, segments, journeys] = await Promise.all([
    deps.people.activityUpTo(workspaceId, personId, { atMost: before, limit: limit + 1 }),
    deps.segments.historyBetween(workspaceId, personId, { from: null, to: before === null ? null : before + 1 }, limit + 1),
    deps.journeys.runsOf(workspaceId, personId, { limit: RECENT_RUNS, cursor: null }),
    deps.outreachLedger.messagesOf(workspaceId, personId, { limit: RECENT_MESSAGES, cursor: null }),
    deps.segments.list(workspaceId),
    deps.journeys.list(workspaceId),
  ]);
  const segmentName = new Map(segments.map((s) => [s.segmentId, s.name]));
  const journeyName = new Map(journeys.map((j) => [j.journeyId, j.name]));
  const items: TimelineItem[] = [];
  for (const a of activity) items.push(a.kind === "event" ? eventItem(a.at, a.detail) : changeItem(a.at, a.detail));
  for (const h of history) {
    const name = segmentName.get(h.segmentId) ?? `segment ${h.segmentId}`;
    items.push({ kind: h.entered ? "segment_entered" : "segment_left", at: h.at, title: `${h.entered ? "Entered" : "Left"} segment ${name}`, detail: { segmentId: h.segmentId }, link: { kind: "segment", segmentId: h.segmentId } });
  }
  for (const run of runs.items) {
    const name = journeyName.get(run.journeyId) ?? `journey ${run.journeyId}`;
    const link = { kind: "journey" as const, journeyId: run.journeyId };
    if (notAfter(run.enteredAt)) items.push({ kind: "journey_entered", at: run.enteredAt, title: `Entered journey ${name}`, detail: { runId: run.runId, version: run.version, state: run.state, stepId: run.stepId }, link });
    for (const step of run.path) {
      if (notAfter(step.at)) items.push({ kind: "journey_step", at: step.at, title: `${name}: step ${step.stepId} ${step.outcome}`, detail: { runId: run.runId, stepId: step.stepId, outcome: step.outcome }, link });
    }
  }
  for (const m of messages.items) {
    if (notAfter(m.createdAt)) items.push({ kind: "message", at: m.createdAt, title: `Message: ${m.subject}`, detail: { recipient: m.recipient, statuses: m.statuses, origin: m.origin }, link: { kind: "message", messageId: m.messageId } });
  }
  items.sort((a, b) => b.at - a.at);
  if (items.length <= limit) return { items, next: null };
  const cutAt = items[limit]!.at;
  const page = items.filter((i) => i.at > cutAt);
  // A single millisecond holding more than a page: show it whole and go on before it.
  if (page.length === 0) return { items: items.filter((i) => i.at === cutAt), next: cutAt - 1 };
  return { items: page, next: cutAt };
}

function eventItem(at: number, detail: Record<string, unknown>): TimelineItem {
  const type = String(detail.type ?? "event");
  const name = String(detail.name ?? "");
  return { kind: "event", at, title: type === "event" ? `Event ${name}` : `${type === "page" ? "Page view" : "Screen view"} ${name}`, detail: { name, type, data: detail.data ?? {} }, link: null };
}

function changeItem(at: number, detail: Record<string, unknown>): TimelineItem {
  const shown = (v: unknown) => (v === null || v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
  return { kind: "attribute_change", at, title: `${String(detail.name)}: ${shown(detail.from)} → ${shown(detail.to)}`, detail, link: null };
}
