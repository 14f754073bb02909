// Runs Posthorn for a benchmark scenario the way an operator does: the compiled CLI as a child
// process, on a fresh SQLite database in a temporary directory, with a workspace created by
// `posthorn workspace create`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { MAIN_JS, spawnServer, type ChildServer } from "../../test/support/server.js";
import { processCpuSeconds, removeDir, tempDir, track } from "./children.js";

const execFileAsync = promisify(execFile);

const PRELOAD_JS = resolve(import.meta.dirname, "cpu-profile.preload.js");

export interface PosthornOptions {
  roles: string;
  /** Port of the loopback SMTP sink, set as POSTHORN_SMTP_RELAY. */
  relayPort?: number;
  /** Write a V8 CPU profile of the server to this file when it stops. */
  cpuProfileFile?: string;
  /** More environment for the server (e.g. POSTHORN_DNS_SERVERS). */
  extraEnv?: Record<string, string>;
}

export interface RunningPosthorn {
  /** Base URL of the API; empty when the roles have no `api`. */
  url: string;
  /** Port of the main SMTP submission listener (role `smtp`, from the banner), or null without that role. */
  smtpPort: number | null;
  /** The server's data directory (e.g. its generated SMTP certificate is in smtp-tls/cert.pem). */
  dataDir: string;
  token: string;
  /** An account token (domains, app API). */
  accountToken: string;
  pid: number | undefined;
  /** The environment the server was started with (the benchmark's settings). */
  env: Record<string, string>;
  /** CPU seconds used so far by the whole server process, and by its main thread (the event loop) alone. */
  cpuSeconds(): number | null;
  mainThreadCpuSeconds(): number | null;
  /** Log lines at warn level or above the server printed (pino JSON), for the report. */
  problems(): string[];
  stop(): Promise<void>;
}

export async function startPosthorn(options: PosthornOptions): Promise<RunningPosthorn> {
  const dataDir = tempDir("posthorn-bench-");
  const env: Record<string, string> = {
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HTTP_HOST: "127.0.0.1",
    POSTHORN_HOSTNAME: "bench.test",
    LOG_LEVEL: "warn",
    POSTHORN_ROLES: options.roles,
    POSTHORN_SHUTDOWN_TIMEOUT: "5s",
    // The benchmark workspace sends From app@bench.test, a verified domain only in the DKIM
    // scenarios; the From rule's own cost is measured apart (docs/api.md, "The From rule").
    POSTHORN_REQUIRE_VERIFIED_FROM: "false",
  };
  const roles = options.roles.split(",").map((r) => r.trim());
  if (roles.includes("smtp")) Object.assign(env, { POSTHORN_SMTP_PORT: "0", POSTHORN_SMTP_HOST: "127.0.0.1" });
  if (options.relayPort !== undefined) env.POSTHORN_SMTP_RELAY = `smtp://127.0.0.1:${options.relayPort}`;
  Object.assign(env, options.extraEnv ?? {});

  let server: ChildServer | null = null;
  try {
    const { stdout } = await execFileAsync(process.execPath, [MAIN_JS, "workspace", "create", "bench"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      timeout: 60_000,
    });
    const token = stdout.trim().split("\n").pop()?.trim() ?? "";
    if (!token) throw new Error(`posthorn workspace create printed no token: ${stdout}`);
    const account = await execFileAsync(process.execPath, [MAIN_JS, "token", "create", "--account"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      timeout: 60_000,
    });
    const accountToken = account.stdout.trim();

    const serverEnv = { ...env };
    if (options.cpuProfileFile) {
      serverEnv.NODE_OPTIONS = `--import=${pathToFileURL(PRELOAD_JS).href}`;
      serverEnv.BENCH_CPU_PROF_FILE = options.cpuProfileFile;
    }
    server = await spawnServer(serverEnv, 60_000);
    track(server.child);
    if (roles.includes("api") && !server.url) throw new Error(`the server printed no API URL:\n${server.output()}`);
    // printBanner (src/main.ts): "  SMTP:     port N  (submission; …)", the main listener first.
    const smtpPort = /^\s*SMTP:\s+port (\d+)/m.exec(server.output());
    if (roles.includes("smtp") && !smtpPort) throw new Error(`the server printed no SMTP port:\n${server.output()}`);
    const running = server;
    return {
      url: running.url ?? "",
      smtpPort: smtpPort ? Number(smtpPort[1]) : null,
      dataDir,
      token,
      accountToken,
      pid: running.child.pid,
      env,
      cpuSeconds: () => processCpuSeconds(running.child.pid),
      mainThreadCpuSeconds: () => processCpuSeconds(running.child.pid, { mainThreadOnly: true }),
      problems: () =>
        running
          .output()
          .split("\n")
          .filter((line) => /"level":\s*(40|50|60)\b/.test(line) || /^(Error|TypeError|RangeError)\b|\bat .*\.js:\d+/.test(line)),
      async stop() {
        try {
          if (running.child.exitCode === null && running.child.signalCode === null) {
            running.child.kill("SIGTERM");
            const timer = setTimeout(() => running.child.kill("SIGKILL"), 20_000);
            await running.exited;
            clearTimeout(timer);
          }
        } finally {
          removeDir(dataDir);
        }
      },
    };
  } catch (err) {
    if (server) server.child.kill("SIGKILL");
    removeDir(dataDir);
    throw err;
  }
}
