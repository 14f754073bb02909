// A journey as Posthorn holds it once parsed (journey-definition.ts reads the JSON or YAML
// document into this; docs/journeys.md has the document's format). Everything downstream — the
// interpreter, the runtime, the simulator behind `posthorn journeys test`, the App API — works on
// these types, never on the raw document.
//
// Steps form a tree: a branch, split, cohort or wait holds lists of steps, and when a list ends the
// person goes on after the step that held it. Every step has an id, unique in the journey, chosen
// by the author (or derived from its position when omitted): runs point at step ids, metrics are
// counted per step id, and a new version keeps the ids of the steps it keeps, so people moved to it
// land on the same step.
import type { Condition, EventKind, ValueTest } from "../segments/segment-definition.js";

export type JourneyId = string;

export interface JourneyDefinition {
  name: string;
  description: string;
  trigger: JourneyTrigger;
  /** Only people who match enter (checked at entry). */
  filters: JourneyCondition | null;
  /** Any of these ends a run early (reason "exited"). */
  exits: ExitCondition[];
  reentry: ReentryRule;
  goal: ConversionGoal | null;
  /** Journey-level defaults of the send steps. */
  defaults: SendDefaults;
  steps: Step[];
}

export type JourneyTrigger =
  /** The person performed an event (of this type, when given) whose properties pass `where`. */
  | { kind: "event"; name: string; type: EventKind | null; where: ValueTest[] }
  /** The person entered or left a segment. */
  /** existing: whether the segment's members when the journey goes live enter (absent in documents stored before it existed: ignore). */
  | { kind: "segment"; segmentId: string; on: "entered" | "left"; existing?: "enter" | "ignore" }
  /** A date attribute (unix seconds, ms or ISO text): the person enters at that time plus offsetMs (negative: before). */
  | { kind: "date"; attribute: string; offsetMs: number }
  /** Started by the App API (triggerBroadcast) for the recipients it names, with its data as `trigger`. */
  | { kind: "broadcast" };

/**
 * once: a person enters at most once, ever. after_finish: again only when no run of theirs in this
 * journey is active (and at least minIntervalMs after their last entry). always: every trigger
 * starts a run, concurrently (an abandoned-cart journey per cart).
 */
export interface ReentryRule {
  mode: "once" | "after_finish" | "always";
  minIntervalMs: number | null;
}

export type ExitCondition =
  | { kind: "segment_left"; segmentId: string }
  /** match: event property → Liquid text rendered against the run's scope at entry ("{{ trigger.cart_id }}"). */
  | { kind: "event"; name: string; where: ValueTest[]; match: Record<string, string> };

export interface ConversionGoal {
  name: string;
  where: ValueTest[];
  match: Record<string, string>;
  /** After entry. */
  withinMs: number;
  /** End the run when the person converts (reason "converted"). */
  exitOnConversion: boolean;
}

export interface SendDefaults {
  from: string | null;
  stream: string | null;
  /** Counts toward the workspace's message limits (frequency caps); default true. */
  countsTowardLimit: boolean;
  /** Sent even to unsubscribed people, and outside the limits (a stream configured as transactional). */
  transactional: boolean;
  /** topic_<n>: sent only if the person is subscribed to it. */
  topic: string | null;
}

export type JourneyCondition =
  | { kind: "and"; path: string; all: JourneyCondition[] }
  | { kind: "or"; path: string; any: JourneyCondition[] }
  | { kind: "not"; path: string; inner: JourneyCondition }
  /** The segment language's leaves (attribute, changed, event with counts and windows, device, subscription), about the person now. */
  | { kind: "person"; path: string; condition: Condition }
  | { kind: "segment"; path: string; segmentId: string; member: boolean }
  /** The message a send step of this run sent reached this status. */
  | { kind: "message"; path: string; stepId: string; status: MessageStatus }
  /** A test of the run's scope: `trigger.total`, `journey.plan`, `steps.<id>.response.status`. */
  | { kind: "data"; path: string; test: ValueTest };

export type MessageStatus = "sent" | "delivered" | "opened" | "clicked" | "bounced" | "unsubscribed" | "skipped";

/** An email: Liquid text (subject, html, text are templates) or a stored Postmark-style template. */
export type EmailContent =
  | { kind: "liquid"; from: string | null; to: string | null; replyTo: string | null; subject: string; html: string | null; text: string | null; headers: Record<string, string> }
  | { kind: "template"; from: string | null; to: string | null; template: string; model: Record<string, unknown> };

export interface WebhookRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Liquid. */
  url: string;
  /** Values are Liquid. */
  headers: Record<string, string>;
  /** Liquid text, or JSON whose string values are Liquid; null: no body. */
  body: string | Record<string, unknown> | null;
  timeoutMs: number;
}

export interface CohortPath {
  name: string;
  /** Relative weight (the share is weight / sum of weights). */
  weight: number;
  steps: Step[];
}

export interface SplitPath {
  name: string;
  condition: JourneyCondition;
  steps: Step[];
}

/** Days 0 (Sunday) to 6; hours as minutes after midnight, [from, to); to < from spans midnight. */
export interface TimeWindow {
  days: number[];
  fromMinute: number;
  toMinute: number;
  /** "person": the person's `timezone` attribute (IANA), else `fallback`. */
  timezone: "person" | string;
  fallback: string;
}

export type Step =
  | { id: string; kind: "email"; tag: string | null; content: EmailContent; send: SendDefaults }
  | { id: string; kind: "webhook"; request: WebhookRequest }
  /** Values: JSON, with strings as Liquid (rendered, then set as attributes of the person). */
  | { id: string; kind: "update_attributes"; attributes: Record<string, unknown> }
  | { id: string; kind: "segment"; segmentId: string; action: "add" | "remove" }
  | { id: string; kind: "delay"; ms: number }
  | { id: string; kind: "random_delay"; minMs: number; maxMs: number }
  /** Holds the person until the window is open (now, or its next opening). */
  | { id: string; kind: "time_window"; window: TimeWindow }
  | {
      id: string;
      kind: "wait_until";
      /** Satisfied by an event (match: property → Liquid rendered at the wait's start), or a condition that becomes true, whichever is given. */
      event: { name: string; where: ValueTest[]; match: Record<string, string> } | null;
      condition: JourneyCondition | null;
      /** null: forever. */
      timeoutMs: number | null;
      then: Step[];
      onTimeout: Step[];
    }
  | { id: string; kind: "branch"; condition: JourneyCondition; then: Step[]; else: Step[] }
  | { id: string; kind: "split"; paths: SplitPath[]; otherwise: Step[] }
  | { id: string; kind: "cohort"; paths: CohortPath[] }
  | { id: string; kind: "exit" };

export type StepKind = Step["kind"];

/** A stored journey: its current definition and version. Ids are integers as text (Customer.io's campaign ids are numbers). */
export interface Journey {
  journeyId: JourneyId;
  workspaceId: string;
  name: string;
  /** draft: defined, not entered by anyone; live: triggers start runs; paused: no new runs, runs go on; archived: no new runs, runs exit. */
  state: "draft" | "live" | "paused" | "archived";
  version: number;
  definition: JourneyDefinition;
  /** The document as given (JSON or YAML text), so the author's form is shown back. */
  source: string;
  origin: "api" | "file";
  createdAt: number;
  updatedAt: number;
}

export interface JourneyVersion {
  journeyId: JourneyId;
  version: number;
  definition: JourneyDefinition;
  source: string;
  createdAt: number;
}
