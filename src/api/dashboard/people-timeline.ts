// One timeline of a person for the dashboard: tracked events and attribute changes (people),
// segment entries and exits (segments), journey entries and steps (journeys) and the messages sent
// to them (the outreach ledger), merged newest first. Each domain keeps its own part; this edge only
// reads them through their services and merges.
//
// Paging is by time: a page holds everything at or before `before`, cut so that it ends at a whole
// millisecond (the items of the millisecond where the cut falls go to the next page together), and
// `next` is that millisecond; a millisecond with more than a page of items is a page of its own. Events, changes and segment history are read a page at a time; runs
// and messages are read as the person's latest RECENT_RUNS and RECENT_MESSAGES, which covers every
// person but the busiest (said in docs/dashboard/people.md).
import type { PeopleService } from "../../people/people.service.js";
import type { SegmentsService } from "../../segments/segments.service.js";
import type { JourneysService } from "../../journeys/journeys.service.js";
import type { OutreachLedger, OutreachMessage } from "../../channels/email/outreach.port.js";
import type { RunSummary } from "../../journeys/journeys.port.js";
import type { SegmentChange } from "../../segments/segments.port.js";
import type { TimelineAnswer, TimelineItem } from "./people.contract.js";

const RECENT_RUNS = 200;
const RECENT_MESSAGES = 200;
/** Items per source read for one millisecond that holds more than a page (the people domain's most per page). */
const WHOLE_MOMENT = 1_000;

export interface TimelineDeps {
  people: Pick<PeopleService, "activityUpTo">;
  segments: Pick<SegmentsService, "historyBetween" | "list">;
  journeys: Pick<JourneysService, "runsOf" | "list">;
  outreachLedger: Pick<OutreachLedger, "messagesOf">;
}

export async function personTimeline(deps: TimelineDeps, workspaceId: string, personId: string, options: { before: number | null; limit: number }): Promise<TimelineAnswer> {
  const { before, limit } = options;
  const [segments, journeys, runs, messages] = await Promise.all([
    deps.segments.list(workspaceId),
    deps.journeys.list(workspaceId),
    deps.journeys.runsOf(workspaceId, personId, { limit: RECENT_RUNS, cursor: null }),
    deps.outreachLedger.messagesOf(workspaceId, personId, { limit: RECENT_MESSAGES, cursor: null }),
  ]);
  const names = { segments: new Map(segments.map((s) => [s.segmentId, s.name])), journeys: new Map(journeys.map((j) => [j.journeyId, j.name])) };
  const kept: TimelineItem[] = [...runItems(runs.items, names.journeys), ...messageItems(messages.items)].filter((i) => before === null || i.at <= before);
  const gather = async (read: number): Promise<TimelineItem[]> => {
    const [activity, history] = await Promise.all([
      deps.people.activityUpTo(workspaceId, personId, { atMost: before, limit: read }),
      deps.segments.historyBetween(workspaceId, personId, { from: null, to: before === null ? null : before + 1 }, read),
    ]);
    const items = [...activity.map((a) => (a.kind === "event" ? eventItem(a.at, a.detail) : changeItem(a.at, a.detail))), ...historyItems(history, names.segments), ...kept];
    return items.sort((a, b) => b.at - a.at);
  };
  const items = await gather(limit + 1);
  if (items.length <= limit) return { items, next: null };
  const cutAt = items[limit]!.at;
  const page = items.filter((i) => i.at > cutAt);
  if (page.length > 0) return { items: page, next: cutAt };
  // One millisecond holds more than a page (an identify sets many attributes at once): read that
  // millisecond whole (up to WHOLE_MOMENT items per source) and go on before it.
  const moment = (await gather(WHOLE_MOMENT)).filter((i) => i.at === cutAt);
  return { items: moment, next: cutAt - 1 };
}

function runItems(runs: RunSummary[], journeyName: Map<string, string>): TimelineItem[] {
  const items: TimelineItem[] = [];
  for (const run of runs) {
    const name = journeyName.get(run.journeyId) ?? `journey ${run.journeyId}`;
    const link = { kind: "journey" as const, journeyId: run.journeyId };
    items.push({ kind: "journey_entered", at: run.enteredAt, title: `Entered journey ${name}`, detail: { runId: run.runId, version: run.version, state: run.state, stepId: run.stepId }, link });
    for (const step of run.path) items.push({ kind: "journey_step", at: step.at, title: `${name}: step ${step.stepId} ${step.outcome}`, detail: { runId: run.runId, stepId: step.stepId, outcome: step.outcome }, link });
  }
  return items;
}

function messageItems(messages: OutreachMessage[]): TimelineItem[] {
  return messages.map((m) => ({ kind: "message", at: m.createdAt, title: `Message: ${m.subject}`, detail: { recipient: m.recipient, statuses: m.statuses, origin: m.origin }, link: { kind: "message", messageId: m.messageId } }));
}

function historyItems(history: SegmentChange[], segmentName: Map<string, string>): TimelineItem[] {
  return history.map((h) => {
    const name = segmentName.get(h.segmentId) ?? `segment ${h.segmentId}`;
    return { kind: h.entered ? "segment_entered" : "segment_left", at: h.at, title: `${h.entered ? "Entered" : "Left"} segment ${name}`, detail: { segmentId: h.segmentId }, link: { kind: "segment", segmentId: h.segmentId } };
  });
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
