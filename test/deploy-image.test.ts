// deploy/Dockerfile, tested without a Docker daemon (there is none on the build machine): its
// instructions are parsed, the final stage's facts checked (non-root, no build tools, tini, the
// data volume, ports that match the settings), and its ENTRYPOINT's command, its CMD, run as the
// image would run it — from the image's WORKDIR layout (this checkout holds the same dist/src, dist/bundle,
// web/dist and package.json), with the image's ENV — until it serves and its HEALTHCHECK passes.
// Only the data directory and the ports are changed (a temp dir; port 0, on loopback), so that
// tests running at once do not collide. What is not tested here: that `docker build` succeeds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "../src/config/config.schema.js";
import { tempDir } from "./support/server.js";
import { unreadKeys } from "./support/deploy-keys.js";
import { startDeployed } from "./support/deployed-process.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Dockerfile syntax as far as deploy/Dockerfile uses it: comments, `\` continuations, one instruction a line. */
function parseDockerfile(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of joined) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { keyword: keyword!.toUpperCase(), args: args!.replace(/\s+/g, " ").trim() };
    if (instruction.keyword === "FROM") {
      const [from, , name] = instruction.args.split(" ");
      stages.push({ from: from!, name: name ?? null, instructions: [] });
    } else if (instruction.keyword !== "ARG" || stages.length > 0) {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const exec = (args: string): string[] => JSON.parse(args) as string[];

/** ENV KEY=VALUE KEY2=VALUE2 (values without spaces or quotes, as deploy/Dockerfile writes them). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of all(stage, "ENV")) {
    for (const pair of args.split(" ")) {
      const [key, value] = pair.split("=");
      assert.ok(key && value !== undefined, `ENV ${pair} is KEY=VALUE`);
      env[key] = value;
    }
  }
  return env;
}

const dockerfile = parseDockerfile(readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8"));
const final = dockerfile.at(-1)!;

test("the Dockerfile builds in separate stages and the final one is slim, holds no build tools and copies only built output", () => {
  assert.ok(dockerfile.length >= 3, "deps, build and final stages");
  assert.match(final.from, /^node:20-[a-z]+-slim$/);
  const build = dockerfile.find((s) => s.name === "build")!;
  assert.ok(all(build, "RUN").some((r) => /npm ci\b/.test(r.args)) && all(build, "RUN").some((r) => r.args === "node scripts/build.js"));
  const deps = dockerfile.find((s) => s.name === "deps")!;
  assert.ok(all(deps, "RUN").some((r) => /npm ci --omit=dev/.test(r.args)), "production dependencies only");

  const finalRuns = all(final, "RUN").map((r) => r.args).join("\n");
  assert.doesNotMatch(finalRuns, /npm (ci|install)|build-essential|\bg\+\+|\bgcc\b|\bmake\b|python/, "no package manager install or compiler in the final stage");
  assert.match(finalRuns, /--no-install-recommends tini/);
  assert.match(finalRuns, /rm -rf \/var\/lib\/apt\/lists/);

  // What the final stage copies from the build exists in a built checkout, at the paths the code expects.
  const copies = all(final, "COPY").map((c) => c.args.split(" ").filter((a) => !a.startsWith("--")));
  const fromBuild = all(final, "COPY").filter((c) => c.args.includes("--from=build")).map((c) => c.args.split(" ").filter((a) => !a.startsWith("--"))[0]!);
  assert.deepEqual(fromBuild.sort(), ["/app/dist/bundle", "/app/dist/src", "/app/web/dist"]);
  assert.ok(existsSync(resolve(ROOT, "dist/src/main.js")) && existsSync(resolve(ROOT, "dist/bundle/main.js")) && existsSync(resolve(ROOT, "web/dist/index.html")));
  for (const [source] of copies.filter((c, i) => !all(final, "COPY")[i]!.args.includes("--from="))) {
    assert.ok(existsSync(resolve(ROOT, source!)), `${source} exists in the build context`);
  }
});

test("the final stage runs as a fixed non-root user under tini, with a data volume and the ports it listens on", () => {
  const user = all(final, "USER").at(-1)!.args;
  assert.doesNotMatch(user, /^(root|0)(:|$)/);
  const index = (keyword: string) => final.instructions.findIndex((i) => i.keyword === keyword);
  assert.ok(index("USER") < index("CMD") && index("USER") < index("ENTRYPOINT"));
  assert.match(all(final, "RUN").map((r) => r.args).join("\n"), /useradd --system --uid 10001/);

  assert.deepEqual(exec(all(final, "ENTRYPOINT")[0]!.args), ["/usr/bin/tini", "--"]);
  const env = envOf(final);
  assert.deepEqual(unreadKeys(Object.keys(env)), [], "every ENV name is one Posthorn reads");
  loadConfig(env); // every value is valid (a ConfigError would fail the test)
  assert.deepEqual(exec(all(final, "VOLUME")[0]!.args), [env.POSTHORN_DATA_DIR]);
  assert.deepEqual(all(final, "EXPOSE").flatMap((e) => e.args.split(" ")).sort(), [env.POSTHORN_HTTP_PORT, env.POSTHORN_SMTP_PORT].sort());
  assert.equal(env.POSTHORN_HTTP_HOST, "0.0.0.0", "reachable from outside the container");
});

test(".dockerignore keeps installed trees, built output and data out of the build context, and lets in what the stages copy", () => {
  const ignored = readFileSync(resolve(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const entry of [".git", "node_modules", "dist", "web/dist", "data", "**/*.db"]) assert.ok(ignored.includes(entry), `${entry} is ignored`);
  const copied = dockerfile.flatMap((s) => all(s, "COPY")).filter((c) => !c.args.includes("--from=")).flatMap((c) => c.args.split(" ").filter((a) => !a.startsWith("--")).slice(0, -1));
  for (const path of copied) assert.ok(!ignored.some((entry) => path === entry || path.startsWith(`${entry}/`)), `${path} is sent to the build`);
});

test("the image's command serves from its WORKDIR layout with its ENV, passes its HEALTHCHECK, and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const workdir = all(final, "WORKDIR").at(-1)!.args;
  assert.equal(workdir, "/app");
  const [command, ...args] = exec(all(final, "CMD")[0]!.args);
  const env = {
    PATH: process.env.PATH ?? "",
    ...envOf(final),
    // The only changes: the volume is a temp dir, the ports are free ones, on loopback only.
    POSTHORN_DATA_DIR: dir.path,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HTTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_PORT: "0",
    POSTHORN_SMTP_HOST: "127.0.0.1",
    POSTHORN_DNS_SERVERS: "127.0.0.1:9",
    POSTHORN_SHUTDOWN_TIMEOUT: "5s",
  };
  const deployed = await startDeployed(command!, args, ROOT, env).catch((err: unknown) => {
    dir.remove();
    throw err;
  });
  const { child, exited } = deployed;
  try {
    const url = deployed.apiUrl;
    assert.match(deployed.output(), /roles:\s+api, mta, smtp, worker/, "the image runs every role by default");
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.ok(existsSync(resolve(dir.path, "posthorn.db")), "the database is in the volume");
    // LOG_FORMAT=json from the image: log lines a collector can parse.
    assert.ok(deployed.output().split("\n").some((line) => line.startsWith("{") && (JSON.parse(line) as { msg?: string }).msg === "started"), deployed.output());

    const healthcheck = all(final, "HEALTHCHECK")[0]!.args;
    assert.match(healthcheck, /--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \[/);
    const [hcCommand, ...hcArgs] = exec(healthcheck.slice(healthcheck.indexOf("CMD ") + 4));
    const port = new URL(url).port;
    const healthy = spawnSync(hcCommand!, hcArgs, { cwd: ROOT, env: { ...env, POSTHORN_HTTP_PORT: port }, encoding: "utf8" });
    assert.equal(healthy.status, 0, healthy.stderr);
    // Pointed at the metrics listener's port (nothing listens there in this process): unhealthy.
    const elsewhere = spawnSync(hcCommand!, hcArgs, { cwd: ROOT, env: { ...env, POSTHORN_METRICS_LISTEN: "127.0.0.1:9" }, encoding: "utf8" });
    assert.equal(elsewhere.status, 1);
    assert.match(elsewhere.stderr, /^healthcheck: http:\/\/127\.0\.0\.1:9\/healthz: /);

    // tini forwards SIGTERM to node: the two-phase shutdown runs and the process exits 0.
    child.kill("SIGTERM");
    assert.equal(await exited, 0, deployed.output());
    assert.match(deployed.output(), /shutting down: draining in-flight work/);
    const down = spawnSync(hcCommand!, hcArgs, { cwd: ROOT, env: { ...env, POSTHORN_HTTP_PORT: port }, encoding: "utf8" });
    assert.equal(down.status, 1, "unhealthy once it stopped serving");
  } finally {
    child.kill("SIGKILL");
    dir.remove();
  }
});
