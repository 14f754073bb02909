// Starting Posthorn for end-to-end tests: in this process (fast, for API behaviour) or as a child
// process running the real CLI (for crash and multi-process tests).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../../src/config/config.schema.js";
import { pino } from "pino";
import type { Logger } from "../../src/shared/logger.js";
import { startApp, type RunningApp, type StartOptions } from "../../src/app/app.js";
import { seedSqliteDataDir } from "./migrated-templates.js";

/**
 * The CLI as `posthorn` runs it (bin/posthorn.js): the bundled server that the build makes when
 * rolldown is installed, as it is wherever the suite runs (server-bundle.test.ts checks it is).
 */
const BUNDLED_MAIN_JS = resolve(import.meta.dirname, "../../bundle/main.js");
export const MAIN_JS = existsSync(BUNDLED_MAIN_JS) ? BUNDLED_MAIN_JS : resolve(import.meta.dirname, "../../src/main.js");

/**
 * Test servers start with the From rule off (POSTHORN_REQUIRE_VERIFIED_FROM=false): most tests
 * send from made-up addresses in live workspaces and are about something else. The rule's own
 * tests (test/from-rule.test.ts) pass the key as "true".
 */
export const FROM_RULE_OFF = { POSTHORN_REQUIRE_VERIFIED_FROM: "false" } as const;

/**
 * Test servers answer open pixels at once (POSTHORN_TRACKING_READ_SECONDS=0): a test that reads a
 * pixel's body would otherwise wait out the read-time measure. The read-time tests turn it on.
 */
export const READ_TIME_OFF = { POSTHORN_TRACKING_READ_SECONDS: "0" } as const;

export interface TestServer {
  url: string;
  app: RunningApp;
  dataDir: string;
  /** Creates a workspace and returns its server token. */
  createWorkspace(name: string, options?: { sandbox?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/**
 * What this process's in-process servers logged at warn and above, the last MOST_LOGGED lines:
 * printed after the test file's own report when it fails, so that a failure seen only in CI (a
 * consumer that kept failing, a thread that died, a claim that errored) comes with the server's
 * account of it. Their worker threads log nothing (LOG_LEVEL silent): what matters from them is
 * reported through the main thread (a thread's failure, a batch's error).
 */
const logged: string[] = [];
const MOST_LOGGED = 300;
function keptLogger(): Logger {
  return pino(
    { level: "warn" },
    {
      write(line: string) {
        logged.push(line.trimEnd());
        if (logged.length > MOST_LOGGED) logged.shift();
      },
    },
  );
}
process.once("exit", (code) => {
  if ((code !== 0 || (process.exitCode ?? 0) !== 0) && logged.length > 0) {
    process.stdout.write(`\nwarnings and errors this file's in-process servers logged (the last ${MOST_LOGGED} at most):\n${logged.join("\n")}\n`);
  }
});

/**
 * Starts Posthorn in this process on a new data directory (or the test's own `POSTHORN_DATA_DIR`).
 * A new SQLite directory starts from a copy of the migrated template, as a store does
 * (stores.ts): running every migration cost ~100 ms of CPU of a warm start's ~880 (measured
 * 849-911 ms before, 734-819 after), and the suite starts ~130 servers in its test processes.
 * The migrations themselves are tested where they are asked for.
 */
export async function startTestServer(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "posthorn-e2e-"));
  if (env.POSTHORN_DATA_DIR === undefined && env.DATABASE_URL === undefined) await seedSqliteDataDir(dataDir);
  const config = loadConfig({
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HTTP_HOST: "127.0.0.1",
    POSTHORN_HOSTNAME: "posthorn.test",
    LOG_LEVEL: "silent",
    POSTHORN_SHUTDOWN_TIMEOUT: "2s",
    POSTHORN_SMTP_PORT: "0", // the smtp role is on by default; a free port keeps parallel tests apart
    ...FROM_RULE_OFF,
    ...READ_TIME_OFF,
    ...env,
  });
  const app = await startApp(config, keptLogger(), options);
  return {
    url: app.httpUrl!,
    app,
    dataDir,
    async createWorkspace(name, options = {}) {
      const { serverToken } = await app.services.workspaces.create(name, { sandbox: options.sandbox === true });
      return serverToken;
    },
    async close() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChildServer {
  child: ChildProcess;
  url: string | null;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs `posthorn start` as a child process and waits until it reports its API URL (or has started, for API-less roles). */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000, nodeArgs: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN_JS, "start"], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", POSTHORN_HTTP_HOST: "127.0.0.1", POSTHORN_SMTP_PORT: "0", ...FROM_RULE_OFF, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const until = Date.now() + timeoutMs;
  while (!/Posthorn is running/.test(out)) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`server did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const match = /API:\s+(http:\/\/\S+)/.exec(out);
  return { child, url: match ? match[1]! : null, output: () => out, exited };
}

export function tempDir(prefix = "posthorn-e2e-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
