// posthorn journeys test FILE --events EVENTS.json [--json] [--until TIME] [--webhook-responses FILE]:
// runs a journey document against a list of what happened, on a virtual clock, without a database
// or a server, and prints per person the steps passed (with virtual times) and the messages that
// would be sent. The same interpreter as the worker decides every step, so what is printed is
// what the worker would do (within the simulator's limits, src/journeys/journey-simulator.ts).
// Exit code 0 when the journey ran; 1 when a file is missing or invalid (the message names the
// bad field); 2 for a malformed command line.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { parseDate } from "../segments/segment-definition.js";
import { parseJourney } from "../journeys/journey-definition.js";
import { createJourneyInterpreter } from "../journeys/journey-interpreter.js";
import { parseSimulationEntries, parseWebhookAnswers } from "../journeys/journey-simulation-input.js";
import { simulateJourney, type SimulationResult } from "../journeys/journey-simulator.js";
import { CommandFailed, type Command } from "./command.js";
import { UsageError } from "./usage.js";

const FORM = "journeys test FILE --events EVENTS.json [--json] [--until TIME] [--webhook-responses FILE]";
/** Input files are read whole: bounded so a wrong path (a log file) fails fast. */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

export const journeys: Command = async ({ args, options, out }) => {
  if (args[0] !== "test" || args.length !== 2 || !options.events) throw new UsageError(FORM, "journeys");
  const journeyText = await readText(args[1]!, "journey file");
  const { definition } = parseJourney(journeyText);
  const events = parseSimulationEntries(readStructured(await readText(options.events, "events file"), "events file"));
  const webhookAnswers = options["webhook-responses"] ? parseWebhookAnswers(readStructured(await readText(options["webhook-responses"], "webhook responses file"), "webhook responses file")) : new Map();
  let until: number | null = null;
  if (options.until !== undefined) {
    try {
      until = parseDate(/^\d+$/.test(options.until) ? Number(options.until) : options.until, "--until");
    } catch {
      throw new UsageError("--until must be a date: ISO 8601 text (2026-01-31T09:00:00Z) or unix seconds", "journeys");
    }
  }
  const liquid = new LiquidRenderer();
  const result = await simulateJourney({ definition, entries: events.entries, start: events.start, until, webhookAnswers, interpreter: createJourneyInterpreter({ liquid }), liquid });
  out(options.json ? `${JSON.stringify(asJson(result), null, 2)}\n` : report(definition.name, result));
  return 0;
};

async function readText(path: string, what: string): Promise<string> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (err) {
    throw new CommandFailed(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (buffer.length > MAX_FILE_BYTES) throw new CommandFailed(`the ${what} ${path} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
  return buffer.toString("utf8");
}

/** JSON, or YAML for people who write their events by hand. */
function readStructured(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return parseYaml(text, { maxAliasCount: 100 });
    } catch (err) {
      throw new CommandFailed(`the ${what} is neither JSON nor YAML: ${(err as Error).message.split("\n")[0]}`);
    }
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function asJson(result: SimulationResult) {
  return {
    start: iso(result.start),
    until: iso(result.until),
    runs: result.runs.map((r) => ({
      run: r.runId,
      person: r.person,
      entered_at: iso(r.enteredAt),
      path: r.path.map((p) => ({ step: p.step, at: iso(p.at) })),
      messages: r.messages.map((m) => ({ step: m.step, at: iso(m.at), to: m.to, subject: m.subject, excerpt: m.excerpt, skipped: m.skipped })),
      webhooks: r.webhooks.map((w) => ({ step: w.step, at: iso(w.at), method: w.method, url: w.url, body: w.body, status: w.status, attempt: w.attempt })),
      end: r.end && { reason: r.end.reason, at: iso(r.end.at), cause: r.end.cause },
      converted_at: r.convertedAt === null ? null : iso(r.convertedAt),
      waiting: r.waiting && { step: r.waiting.step, until: r.waiting.until === null ? null : iso(r.waiting.until) },
    })),
    totals: result.totals,
  };
}

function report(name: string, result: SimulationResult): string {
  const lines = [`Journey "${name}", simulated from ${iso(result.start)} to ${iso(result.until)}`, ""];
  // Per person (in the order they first entered), each of their runs in order.
  const people = [...new Set(result.runs.map((r) => r.person))];
  for (const r of people.flatMap((p) => result.runs.filter((run) => run.person === p))) {
    lines.push(`${r.person} (${r.runId}) entered ${iso(r.enteredAt)}`);
    for (const p of r.path) lines.push(`  ${iso(p.at)}  ${p.step}`);
    for (const m of r.messages) lines.push(m.skipped ? `  email ${m.step} not sent: ${m.skipped}` : `  email ${m.step} to ${m.to}: "${m.subject}"${m.excerpt ? ` — ${m.excerpt.slice(0, 80)}` : ""}`);
    for (const w of r.webhooks) lines.push(`  ${iso(w.at)}  webhook ${w.step}${w.attempt > 1 ? ` (attempt ${w.attempt})` : ""}: ${w.method} ${w.url} → ${w.status}`);
    if (r.convertedAt !== null) lines.push(`  converted ${iso(r.convertedAt)}`);
    if (r.end) lines.push(`  ${r.end.reason} ${iso(r.end.at)}${r.end.cause ? `: ${r.end.cause}` : ""}`);
    else if (r.waiting) lines.push(`  still waiting at ${r.waiting.step}${r.waiting.until === null ? "" : ` until ${iso(r.waiting.until)}`}`);
    lines.push("");
  }
  const t = result.totals;
  lines.push(
    `${plural(t.people, "person", "people")}, ${plural(t.entered, "run")}: ${t.completed} completed, ${t.exited} exited, ${t.converted} converted, ${t.waiting} still waiting; ` +
      `${plural(t.messages, "email")}, ${t.skipped} not sent, ${plural(t.webhooks, "webhook")}`,
  );
  return `${lines.join("\n")}\n`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
