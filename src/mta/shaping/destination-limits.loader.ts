// Loads the destination limits: built-in defaults, the environment's defaults, the shipped
// provider entries, and the operator's JSON file (POSTHORN_DESTINATIONS_FILE), in that order of
// precedence, lowest first. The file is watched and reloaded when it changes; a new version that
// does not parse or validate is refused with the reasons logged, and the limits in force stay.
//
// At start a bad file is an error (the operator should hear about it before mail flows), while a
// bad edit later only logs: an MTA that stops delivering over a typo would be worse than one that
// keeps the last good limits.
import { readFileSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { SHIPPED_DESTINATION_LIMITS } from "./destination-limits.defaults.js";
import { DestinationLimitsError, DestinationLimitsTable, parseLimitsSpec, type LimitsSpec } from "./destination-limits.js";

export interface DestinationLimitsSource {
  /** The table in force; cheap, call it per delivery. */
  current(): DestinationLimitsTable;
  /** Stops watching the file. */
  close(): void;
}

export interface LimitsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DestinationLimitsOptions {
  /** The operator's file, or null for the shipped limits alone. */
  file: string | null;
  /** From the environment: POSTHORN_MAX_CONNECTIONS_PER_DESTINATION and _MESSAGES_PER_CONNECTION. */
  defaults?: { maxConnections?: number; maxMessagesPerConnection?: number };
  /** Replaces the shipped provider entries (tests). */
  shipped?: LimitsSpec;
  logger?: LimitsLogger;
  /** How often the file's size and modification time are checked. Default 2 s. */
  pollMs?: number;
}

/** Limits that never change: the built-in defaults and the given layers only (tests). */
export function staticDestinationLimits(...layers: LimitsSpec[]): DestinationLimitsSource {
  const table = new DestinationLimitsTable(layers.map((l, i) => parseLimitsSpec(l, `layer ${i}`)));
  return { current: () => table, close: () => undefined };
}

function readSpec(file: string): LimitsSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new DestinationLimitsError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  try {
    return JSON.parse(text) as LimitsSpec;
  } catch (err) {
    throw new DestinationLimitsError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
}

/** Throws DestinationLimitsError when the file is missing or invalid at start. */
export function openDestinationLimits(options: DestinationLimitsOptions): DestinationLimitsSource {
  const base = [
    parseLimitsSpec({ defaults: options.defaults ?? {} }, "the environment"),
    parseLimitsSpec(options.shipped ?? SHIPPED_DESTINATION_LIMITS, "the shipped limits"),
  ];
  const build = (file: string) => new DestinationLimitsTable([...base, parseLimitsSpec(readSpec(file), file)]);
  const file = options.file;
  if (!file) {
    const table = new DestinationLimitsTable(base);
    return { current: () => table, close: () => undefined };
  }

  // What the file looked like when last read; a poll that sees anything else reads it again.
  const signature = (st: { mtimeMs: number; size: number; ino: number }) => `${st.mtimeMs}/${st.size}/${st.ino}`;
  let seen = "gone";
  try {
    seen = signature(statSync(file));
  } catch {
    // build() says what is wrong with the file, in the form the operator gets at start.
  }
  let table = build(file);
  options.logger?.info({ event: "mta.limits.loaded", file, entries: table.entryNames.length }, "destination limits loaded");
  // Polling the file's stat rather than fs.watch: editors and Kubernetes ConfigMaps replace the
  // file by renaming another over it, which an inode watch stops seeing; a stat still does.
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      let now: string;
      try {
        now = signature(await stat(file));
      } catch {
        if (seen !== "gone") options.logger?.warn({ event: "mta.limits.file-gone", file }, "destination limits file disappeared; keeping the limits in force");
        seen = "gone";
        return;
      }
      if (now === seen) return;
      seen = now;
      try {
        table = build(file);
        options.logger?.info({ event: "mta.limits.reloaded", file, entries: table.entryNames.length }, "destination limits reloaded");
      } catch (err) {
        const problems = err instanceof DestinationLimitsError ? err.problems : [(err as Error).message];
        options.logger?.warn({ event: "mta.limits.rejected", file, problems }, "destination limits file rejected; keeping the limits in force");
      }
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), options.pollMs ?? 2_000);
  timer.unref();
  return {
    current: () => table,
    close: () => clearInterval(timer),
  };
}