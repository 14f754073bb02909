// Runs a journey against a list of what happened (journey-simulation-input.ts) on a virtual clock,
// with people in memory (journey-world.ts), driving the same interpreter the worker's runtime
// drives: triggers start runs, events reach waiting runs, exits and goals end them, and the clock
// jumps from one due time to the next. Effects are performed without sending anything: emails are
// rendered with the LiquidRenderer for the report, webhooks get the answers the caller supplied
// (200 {} by default; a transient one is retried on the worker's schedule, journey-webhook-retry.ts),
// attribute and segment changes apply to the people in memory.
//
// What it does not model: message limits and quiet hours (no send is held), deliverability (every
// email that has an address and is allowed is "sent"; statuses come only from `message` entries),
// stored templates (an email naming a template is reported by the template's name), and the
// runtime's own latency (timers fire exactly when due).
import type { TrackedEvent } from "../people/people.port.js";
import type { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import type { Effect, EffectResult, JourneyInterpreter, RunState } from "./journey-interpreter.port.js";
import type { JourneyDefinition, Step } from "./journey.model.js";
import { dateOf } from "../segments/segment-evaluator.js";
import { childLists } from "./journey-compile.js";
import { customerOf } from "./journey-effects.js";
import type { SimulationEntry, WebhookAnswer } from "./journey-simulation-input.js";
import { JourneyWorld } from "./journey-world.js";
import { DEFAULT_WEBHOOK_RETRY, longestRetryMs, webhookResult, type WebhookRetryPolicy } from "./journey-webhook-retry.js";

export interface SimulatedMessage {
  step: string;
  at: number;
  to: string | null;
  subject: string;
  /** The rendered text (or html without tags), first 200 characters. */
  excerpt: string;
  /** Not sent, and why (no address, unsubscribed, a render error). */
  skipped: string | null;
}

export interface SimulatedRun {
  runId: string;
  person: string;
  enteredAt: number;
  path: Array<{ step: string; at: number }>;
  messages: SimulatedMessage[];
  /** Every attempt of every webhook step (a retried step shows once per attempt). */
  webhooks: Array<{ step: string; at: number; method: string; url: string; body: string | null; status: number; attempt: number }>;
  /** How it ended, or null when still waiting at the end of the simulation. */
  end: { reason: "completed" | "exited" | "converted"; at: number; cause: string | null } | null;
  convertedAt: number | null;
  /** Where it still waits at the end, and until when (null: for an event or a condition only). */
  waiting: { step: string; until: number | null } | null;
}

export interface SimulationResult {
  start: number;
  until: number;
  runs: SimulatedRun[];
  totals: { people: number; entered: number; completed: number; exited: number; converted: number; waiting: number; messages: number; skipped: number; webhooks: number };
}

/** Bounds on one simulation's work, beyond the bounds of its inputs. */
const MAX_RUNS = 100_000;
const MAX_ADVANCES = 2_000_000;

interface Active {
  record: SimulatedRun;
  run: RunState;
}

export interface SimulationOptions {
  definition: JourneyDefinition;
  entries: SimulationEntry[];
  start: number | null;
  /** Stop the clock here; default: the last entry plus the longest a run can wait (longestWaitMs). */
  until: number | null;
  /** Per webhook step, the answers of its attempts in turn (the last repeated); none: 200 {}. */
  webhookAnswers: Map<string, WebhookAnswer[]>;
  /** Webhook steps' retries; default DEFAULT_WEBHOOK_RETRY (an installation's defaults). */
  webhookRetry?: WebhookRetryPolicy;
  interpreter: JourneyInterpreter;
  liquid: LiquidRenderer;
}

export async function simulateJourney(options: SimulationOptions): Promise<SimulationResult> {
  const { definition, entries, interpreter, liquid } = options;
  const world = new JourneyWorld();
  const start = options.start ?? entries[0]?.at ?? 0;
  const retryPolicy = options.webhookRetry ?? DEFAULT_WEBHOOK_RETRY;
  const longest = longestWaitMs(definition, retryPolicy);
  // Without --until: the last entry plus the longest wait, moved on by date triggers that fall later.
  let until = options.until ?? (entries.at(-1)?.at ?? start) + longest;
  const runs: SimulatedRun[] = [];
  const active: Active[] = [];
  const entriesOf = new Map<string, number[]>();
  let advances = 0;
  let messageSeq = 0;
  let now = start;

  const envOf = (a: Active) => world.env(a.run.personId, now, (stepId) => typeof a.run.scope.steps[stepId]?.messageId === "string");

  /** cause: what ended it early (an exit step, an exit condition, the goal); null when its steps ran out. */
  function end(a: Active, reason: "completed" | "exited" | "converted", cause: string | null = null): void {
    a.record.end = { reason, at: now, cause };
    a.record.waiting = null;
    active.splice(active.indexOf(a), 1);
  }

  async function drive(a: Active): Promise<void> {
    for (;;) {
      advances += 1;
      if (advances > MAX_ADVANCES) throw new Error(`the simulation went past ${MAX_ADVANCES} steps`);
      const step = await interpreter.advance(definition, a.run, envOf(a));
      for (const id of step.path) a.record.path.push({ step: id, at: now });
      a.run = step.run;
      if (step.kind === "end") return end(a, step.reason, step.reason === "exited" ? `exit step ${a.record.path.at(-1)?.step ?? ""}`.trim() : null);
      if (step.kind === "wait") {
        a.record.waiting = { step: step.run.stepId!, until: step.run.wait?.dueAt ?? null };
        return;
      }
      a.run = interpreter.afterEffect(definition, a.run, await perform(a, step.effect), now);
    }
  }

  async function perform(a: Active, effect: Effect): Promise<EffectResult> {
    const person = world.person(a.run.personId, now);
    switch (effect.kind) {
      case "email": {
        const message: SimulatedMessage = { step: effect.stepId, at: now, to: null, subject: "", excerpt: "", skipped: null };
        a.record.messages.push(message);
        const scope = { ...effect.scope, customer: customerOf(person) };
        try {
          const content = effect.content;
          message.to = content.to === null ? person.email : (await liquid.render(content.to, scope)).trim();
          if (content.kind === "template") {
            message.subject = `(stored template ${content.template})`;
          } else {
            message.subject = await liquid.render(content.subject, scope);
            const body = content.text !== null ? await liquid.render(content.text, scope) : (await liquid.render(content.html ?? "", scope)).replace(/<[^>]*>/g, " ");
            message.excerpt = body.replace(/\s+/g, " ").trim().slice(0, 200);
          }
        } catch (err) {
          message.skipped = `render failed: ${(err as Error).message}`;
          return { kind: "failed", error: message.skipped };
        }
        const topic = effect.send.topic;
        if (!message.to) message.skipped = "no email address";
        else if (!effect.send.transactional && person.unsubscribed) message.skipped = "unsubscribed";
        else if (!effect.send.transactional && topic !== null && person.topics[topic] === false) message.skipped = `unsubscribed from ${topic}`;
        if (message.skipped) return { kind: "email", outcome: "skipped", reason: message.skipped };
        messageSeq += 1;
        return { kind: "email", outcome: "accepted", messageId: `simulated-${messageSeq}` };
      }
      case "webhook": {
        const answers = options.webhookAnswers.get(effect.stepId);
        const answer = answers?.[Math.min(effect.attempt, answers.length) - 1] ?? { status: 200, body: {}, retryAfter: null };
        a.record.webhooks.push({ step: effect.stepId, at: now, method: effect.request.method, url: effect.request.url, body: effect.request.body, status: answer.status, attempt: effect.attempt });
        // Decided as the worker decides (journey-webhook-retry.ts): a transient answer waits and tries again.
        return webhookResult({ status: answer.status, body: answer.body, retryAfter: answer.retryAfter === null ? null : String(answer.retryAfter) }, effect.attempt, retryPolicy, effect.idempotencyKey, now);
      }
      case "update_attributes":
        world.identify(a.run.personId, effect.attributes, now);
        return { kind: "done" };
      case "segment":
        world.setSegment(a.run.personId, effect.segmentId, effect.action === "add");
        return { kind: "done" };
    }
  }

  async function enter(personId: string, scope: RunState["scope"]): Promise<void> {
    if (!(await interpreter.admits(definition, world.env(personId, now)))) return;
    const previous = entriesOf.get(personId) ?? [];
    const rule = definition.reentry;
    if (rule.mode === "once" && previous.length > 0) return;
    if (rule.mode === "after_finish") {
      if (active.some((a) => a.run.personId === personId)) return;
      const last = previous.at(-1);
      if (last !== undefined && rule.minIntervalMs !== null && now - last < rule.minIntervalMs) return;
    }
    if (runs.length >= MAX_RUNS) throw new Error(`the simulation went past ${MAX_RUNS} runs`);
    entriesOf.set(personId, [...previous, now]);
    const runId = `run-${runs.length + 1}`;
    const run = interpreter.start(definition, { runId, journeyId: "simulated", version: 1, workspaceId: "simulation", personId, scope, now });
    const record: SimulatedRun = { runId, person: personId, enteredAt: now, path: [], messages: [], webhooks: [], end: null, convertedAt: null, waiting: null };
    runs.push(record);
    const a = { record, run };
    active.push(a);
    await drive(a);
  }

  /** The person changed (attributes, segments, a message's status, an event): condition waits look again. */
  async function recheck(personId: string): Promise<void> {
    for (const a of active.filter((x) => x.run.personId === personId && x.run.wait?.condition)) await drive(a);
  }

  async function onEvent(event: TrackedEvent, personId: string): Promise<void> {
    for (const a of active.filter((x) => x.run.personId === personId)) {
      if (interpreter.converts(definition, a.run, event) && a.record.convertedAt === null) {
        a.record.convertedAt = now;
        if (definition.goal?.exitOnConversion) {
          end(a, "converted", `goal (${event.name})`);
          continue;
        }
      }
      if (interpreter.exits(definition, a.run, { kind: "event", event })) {
        end(a, "exited", `exit condition (event ${event.name})`);
        continue;
      }
      const resumed = interpreter.onEvent(definition, a.run, event, now);
      if (resumed) {
        a.run = resumed;
        await drive(a);
      }
    }
    await recheck(personId);
    if (interpreter.triggeredBy(definition, event)) {
      const properties = event.data;
      await enter(personId, { trigger: properties, event: { name: event.name, timestamp: Math.floor(event.timestamp / 1000), ...properties }, journey: {}, steps: {} });
    }
  }

  async function apply(entry: SimulationEntry): Promise<void> {
    switch (entry.kind) {
      case "identify":
        world.identify(entry.person, entry.attributes, now);
        await recheck(entry.person);
        return;
      case "event":
        return onEvent(world.track(entry.person, entry.name, entry.data, now, entry.type), entry.person);
      case "segment_entered":
      case "segment_left": {
        world.setSegment(entry.person, entry.segment, entry.kind === "segment_entered");
        if (entry.kind === "segment_left") {
          for (const a of active.filter((x) => x.run.personId === entry.person)) if (interpreter.exits(definition, a.run, { kind: "segment_left", segmentId: entry.segment })) end(a, "exited", `exit condition (left segment ${entry.segment})`);
        }
        await recheck(entry.person);
        const t = definition.trigger;
        if (t.kind === "segment" && t.segmentId === entry.segment && (t.on === "entered") === (entry.kind === "segment_entered")) await enter(entry.person, { trigger: {}, event: null, journey: {}, steps: {} });
        return;
      }
      case "message":
        world.addStatus(entry.person, entry.step, entry.status);
        await recheck(entry.person);
        return;
      case "broadcast":
        if (definition.trigger.kind !== "broadcast") return;
        for (const p of entry.people) {
          world.person(p, now);
          await enter(p, { trigger: entry.data, event: null, journey: entry.perPerson[p] ?? {}, steps: {} });
        }
        return;
    }
  }

  /** Date triggers: a person enters when their date attribute (plus the offset) comes, once per date. */
  const dateEntries = new Map<string, number>();
  function dueDates(): Array<{ person: string; at: number }> {
    const t = definition.trigger;
    if (t.kind !== "date") return [];
    return world
      .everyone()
      .map((p) => ({ person: p.personId, at: dateOf(p.attributes[t.attribute]) }))
      .filter((d): d is { person: string; at: number } => d.at !== null)
      .map((d) => ({ person: d.person, at: d.at + t.offsetMs }))
      .filter((d) => dateEntries.get(d.person) !== d.at && d.at >= start);
  }

  let next = 0;
  for (;;) {
    const timer = active.reduce<number | null>((min, a) => (a.run.wait?.dueAt != null && (min === null || a.run.wait.dueAt < min) ? a.run.wait.dueAt : min), null);
    const dates = dueDates();
    const date = dates.reduce<number | null>((min, d) => (min === null || d.at < min ? d.at : min), null);
    const entryAt = entries[next]?.at ?? null;
    const candidates = [timer, date, entryAt].filter((t): t is number => t !== null);
    if (candidates.length === 0) break;
    const at = Math.max(now, Math.min(...candidates));
    if (options.until === null && date !== null && at === date) until = Math.max(until, date + longest);
    if (at > until) break;
    now = at;
    // At one instant: timers first (a timeout that is due wins over an event at the same time), then dates, then entries.
    if (timer !== null && timer <= now) {
      for (const a of active.filter((x) => x.run.wait?.dueAt != null && x.run.wait.dueAt <= now)) await drive(a);
      continue;
    }
    if (date !== null && date <= now) {
      for (const d of dates.filter((x) => x.at <= now)) {
        dateEntries.set(d.person, d.at);
        await enter(d.person, { trigger: {}, event: null, journey: {}, steps: {} });
      }
      continue;
    }
    await apply(entries[next]!);
    next += 1;
  }
  now = Math.max(now, until);

  const count = (reason: string) => runs.filter((r) => r.end?.reason === reason).length;
  const messages = runs.flatMap((r) => r.messages);
  return {
    start,
    until,
    runs,
    totals: {
      people: new Set(runs.map((r) => r.person)).size,
      entered: runs.length,
      completed: count("completed"),
      exited: count("exited"),
      converted: runs.filter((r) => r.convertedAt !== null).length,
      waiting: runs.filter((r) => r.end === null).length,
      messages: messages.filter((m) => m.skipped === null).length,
      skipped: messages.filter((m) => m.skipped !== null).length,
      webhooks: runs.reduce((n, r) => n + r.webhooks.length, 0),
    },
  };
}

/**
 * How long a run can wait at most, summed over every waiting step (any path waits at most that):
 * delays, random delays' maxima, wait timeouts, 8 days per time window (its next opening is
 * at most a week away, and a day more for a change of clocks), and a webhook step's retries.
 */
export function longestWaitMs(definition: JourneyDefinition, retry: WebhookRetryPolicy = DEFAULT_WEBHOOK_RETRY): number {
  const retries = longestRetryMs(retry);
  const walk = (steps: Step[]): number =>
    steps.reduce((sum, s) => {
      const own = s.kind === "delay" ? s.ms : s.kind === "random_delay" ? s.maxMs : s.kind === "wait_until" ? (s.timeoutMs ?? 0) : s.kind === "time_window" ? 8 * 86_400_000 : s.kind === "webhook" ? retries : 0;
      return sum + own + childLists(s).reduce((n, list) => n + walk(list), 0);
    }, 0);
  return walk(definition.steps);
}
