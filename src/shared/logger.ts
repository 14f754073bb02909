// The process logger (pino). Secrets never reach it: tokens are hashed before they are stored and
// the config is redacted before it is printed; the redact paths below are a second line of defence.
//
// Two formats on stdout: JSON lines (pino's own, for log collectors: the default when stdout is not
// a terminal) and, for a person at a terminal, one line per entry:
//   10:04:05 INFO  smtp-submission SMTP submission listening host=0.0.0.0 port=2525
// rendered here, in-process and synchronously, from the JSON line pino makes. pino-pretty does
// this too but is not a dependency, and pino's transports would run it in a worker thread, so a
// line logged just before process.exit() could be lost.
import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/**
 * Who asked for a piece of domain work, put on the lines it logs: the HTTP request's id (the
 * `requestId` of the request's own lines and its X-Request-Id header). Passed by the edge that
 * handles the request rather than kept in async context: AsyncLocalStorage on Node 20 runs promise
 * hooks for every promise of the process, the mail path's included (docs/operations.md, "Logs").
 */
export interface CallContext {
  requestId?: string;
}
export type LogFormat = "json" | "pretty";

/** Where a logger's lines go; `hold()` keeps them back (while the start banner is printed) until `release()`. */
export class LogOutput {
  private held: string[] | null = null;
  private readonly destination: { write(text: string): unknown };

  constructor(
    private readonly format: LogFormat,
    options: { destination?: { write(text: string): unknown }; color?: boolean } = {},
  ) {
    // fd 1 written synchronously: a line is out before the next statement, and before an exit.
    this.destination = options.destination ?? pino.destination({ dest: 1, sync: true });
    this.color = options.color ?? false;
  }

  private readonly color: boolean;

  /** Called by pino with one JSON line (ending in a newline). */
  write(line: string): void {
    const text = this.format === "pretty" ? prettyLine(line, this.color) : line;
    if (this.held) this.held.push(text);
    else this.destination.write(text);
  }

  hold(): void {
    this.held ??= [];
  }

  /** Writes what was held, in order, and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    if (held.length > 0) this.destination.write(held.join(""));
  }
}

/**
 * The event name of a line that our code did not write (Fastify's own warnings): every line we
 * write names its event (`event: "smtp.message.accepted"`, listed in docs/operations.md "Logs" and
 * checked against the code by test/log-events.test.ts), so a collector can select lines by it.
 */
export const LIBRARY_EVENT = "library.log";

export function createLogger(level: string, output: LogFormat | LogOutput = "json"): Logger {
  return pino(
    {
      name: "posthorn",
      level,
      // Called only for lines that are written (past the level check), so it costs nothing on the
      // debug lines of the mail path; the line's own fields win over it.
      mixin: (line: object) => ("event" in line ? NO_FIELDS : { event: LIBRARY_EVENT }),
      mixinMergeStrategy: (line: object, mixed: object) => (mixed === NO_FIELDS ? line : Object.assign(mixed, line)),
      redact: {
        paths: [
          "token",
          "serverToken",
          "password",
          "*.password",
          "privateKey",
          "*.privateKey",
          "headers.authorization",
          "headers.cookie",
          "headers['x-postmark-server-token']",
          "headers['x-postmark-account-token']",
        ],
        censor: "REDACTED",
      },
    },
    typeof output === "string" ? new LogOutput(output) : output,
  );
}

const NO_FIELDS = Object.freeze({});

/** A logger that drops everything, for tests and CLI commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: "TRACE", color: "90" },
  20: { name: "DEBUG", color: "36" },
  30: { name: "INFO", color: "32" },
  40: { name: "WARN", color: "33" },
  50: { name: "ERROR", color: "31" },
  60: { name: "FATAL", color: "35" },
};
/**
 * Fields every line has, shown in the line's head or not at all. The event name is left out of the
 * pretty line: its message says the same to a person; collectors read the JSON lines.
 */
const HEAD = new Set(["level", "time", "pid", "hostname", "name", "msg", "component", "err", "event"]);

/**
 * One JSON line from pino as "HH:MM:SS LEVEL component message key=value…" (local time), and an
 * error's stack indented below it. A line that is not JSON is passed through as it is.
 */
export function prettyLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof entry.time === "number" ? entry.time : Date.now());
  const clock = [time.getHours(), time.getMinutes(), time.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level), color: "0" };
  const levelText = level.name.padEnd(5);
  const head = [clock, color ? `\u001b[${level.color}m${levelText}\u001b[0m` : levelText, String(entry.component ?? entry.name ?? "-")];
  if (entry.msg !== undefined) head.push(String(entry.msg));
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
  const fields = Object.entries(entry).filter(([key]) => !HEAD.has(key));
  if (err) fields.push(["err", err.message ?? err]);
  let text = [...head, ...fields.map(([key, value]) => `${key}=${formatValue(value)}`)].join(" ");
  if (err && typeof err.stack === "string") text += `\n${err.stack.replace(/^/gm, "    ")}`;
  return `${text}\n`;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && /^[^\s",=]+$/.test(v))) return value.join(",");
  return JSON.stringify(value) ?? String(value);
}
