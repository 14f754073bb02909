// The contract between what a journey means (the interpreter, journey-interpreter.ts: pure
// decisions, no I/O but what the environment below lends it) and who runs it: the runtime of the
// worker role (durable runs, leases, timers, effects committed with the run) and the simulator
// of `posthorn journeys test` (a virtual clock and people in memory). Both drive the same
// interpreter, so what the test command prints is what the worker does.
//
// A run advances step by step. `advance` goes through every step that needs no effect and no
// time (branches, splits, cohorts, a window already open) and stops at the first of:
// - an effect to perform (an email, a webhook, attributes, a manual segment): the runtime performs
//   it, then hands its result to `afterEffect`, which moves the run past the step (or holds it,
//   for an email held by message limits or quiet hours) — and commits the new state with the
//   effect where it can (an email's acceptance and the run's move are one transaction);
// - a wait (delay, random delay, a closed time window, wait_until, a held send): run.wait says
//   until when, and what event may end it sooner; the runtime stores it and calls `advance` again
//   when it is due, or `onEvent` when the person performs an event it may be waiting for;
// - the end: the steps ran out (completed) or an exit step was reached (exited).
import type { Person, TrackedEvent } from "../people/people.port.js";
import type { ValueTest } from "../segments/segment-definition.js";
import type { LiquidScope } from "../templates/liquid/liquid.renderer.js";
import type { EmailContent, JourneyDefinition, JourneyId, MessageStatus, SendDefaults } from "./journey.model.js";

/** The data a run carries: what its Liquid and its data conditions read. */
export interface RunScope {
  /** The triggering event's properties (event trigger), the broadcast's data (broadcast trigger), or {} . */
  trigger: Record<string, unknown>;
  /** The triggering event itself (event trigger): {name, timestamp, …properties}; null otherwise. Liquid's `event`. */
  event: Record<string, unknown> | null;
  /** Per-recipient data of an API-triggered broadcast (per_user_data), else {}. */
  journey: Record<string, unknown>;
  /** What earlier steps left: a webhook's {response: {status, body}}, a cohort's {path}, a send's {messageId}. */
  steps: Record<string, Record<string, unknown>>;
}

export interface RunWait {
  /** When the wait ends by the clock (a delay, a window opening, a timeout, a held send's retry); null: only an event ends it. */
  dueAt: number | null;
  /** wait_until's event, its match values rendered at the wait's start. */
  event: { name: string; where: ValueTest[]; match: Record<string, string> } | null;
  /** wait_until's condition: looked at again when the person changes, and when due (its timeout, or the next moment the clock alone may make it hold). */
  condition: boolean;
  /** A webhook step waiting to try again: the attempts made so far, and what the last one got. */
  attempts?: number;
  lastError?: string;
}

export interface RunState {
  runId: string;
  journeyId: JourneyId;
  version: number;
  workspaceId: string;
  personId: string;
  /** The step the run is at: the next to run, or the one it waits in; null once it ended. */
  stepId: string | null;
  wait: RunWait | null;
  scope: RunScope;
  enteredAt: number;
  /** When the run reached stepId. */
  stepSince: number;
}

/** What a run may look at besides its own state; every read is about the run's person. */
export interface JourneyEnvironment {
  now: number;
  person(): Promise<Person | null>;
  inSegment(segmentId: string): Promise<boolean>;
  /** The person's events named `name` with timestamps at or after `since`, newest first, at most `limit`. */
  events(name: string, since: number, limit: number): Promise<TrackedEvent[]>;
  /** The statuses reached by the message that step `stepId` of this run sent; null when it sent none. */
  messageStatus(stepId: string): Promise<MessageStatus[] | null>;
}

/** What the runtime is asked to do for a step; `idempotencyKey` is `<runId>:<stepId>`, carried into acceptance. */
export type Effect =
  | { kind: "email"; stepId: string; idempotencyKey: string; content: EmailContent; send: SendDefaults; tag: string | null; scope: LiquidScope }
  /** attempt: 1 for the first try, n for the nth (journey-webhook-retry.ts decides whether another follows). */
  | { kind: "webhook"; stepId: string; idempotencyKey: string; attempt: number; request: { method: string; url: string; headers: Record<string, string>; body: string | null; timeoutMs: number } }
  | { kind: "update_attributes"; stepId: string; idempotencyKey: string; attributes: Record<string, unknown> }
  | { kind: "segment"; stepId: string; idempotencyKey: string; segmentId: string; action: "add" | "remove" };

export type EffectResult =
  | { kind: "email"; outcome: "accepted"; messageId: string }
  | { kind: "email"; outcome: "held"; until: number; reason: string }
  | { kind: "email"; outcome: "skipped"; reason: string }
  | { kind: "webhook"; status: number; body: unknown }
  | { kind: "done" }
  /** A transient failure (a webhook's timeout, 408, 429, 5xx) with attempts left: the run waits in its step until `at`, then tries again. */
  | { kind: "retry"; at: number; attempt: number; error: string }
  /**
   * The effect could not be performed (a render error, a refused message, a webhook answered 4xx
   * or failing every try): the run goes on past the step, which counts it failed. A webhook's last
   * answer, if one came, is kept on the run as for a success (`steps.<id>.response`).
   */
  | { kind: "failed"; error: string; response?: { status: number; body: unknown } };

export type Advance =
  | { kind: "effect"; run: RunState; effect: Effect; path: string[] }
  | { kind: "wait"; run: RunState; path: string[] }
  | { kind: "end"; run: RunState; reason: "completed" | "exited"; path: string[] };

/** What may end a run early, as the runtime sees it. */
export type ExitSignal = { kind: "event"; event: TrackedEvent } | { kind: "segment_left"; segmentId: string };

export interface JourneyInterpreter {
  /** A person enters: the run before its first step (advance it next). */
  start(definition: JourneyDefinition, entry: { runId: string; journeyId: JourneyId; version: number; workspaceId: string; personId: string; scope: RunScope; now: number }): RunState;
  /** Runs from the run's step until an effect, a wait or the end (a due wait is ended first). `path` lists the step ids passed, in order. */
  advance(definition: JourneyDefinition, run: RunState, env: JourneyEnvironment): Promise<Advance>;
  /** The result of the effect `advance` asked for: the run moved past its step, or (a held email) waiting to try it again. */
  afterEffect(definition: JourneyDefinition, run: RunState, result: EffectResult, now: number): RunState;
  /** An event of the run's person: the run resumed (advance it next) if it satisfies the wait, else null. */
  onEvent(definition: JourneyDefinition, run: RunState, event: TrackedEvent, now: number): RunState | null;
  /** Whether the signal meets one of the journey's exit conditions for this run. */
  exits(definition: JourneyDefinition, run: RunState, signal: ExitSignal): boolean;
  /** Whether the event meets the journey's conversion goal for this run (within its window). */
  converts(definition: JourneyDefinition, run: RunState, event: TrackedEvent): boolean;
  /** Whether an event starts this journey (event trigger: name, type and property tests). */
  triggeredBy(definition: JourneyDefinition, event: TrackedEvent): boolean;
  /** Whether the person passes the journey's filters at entry. */
  admits(definition: JourneyDefinition, env: JourneyEnvironment): Promise<boolean>;
}
