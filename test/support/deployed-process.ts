// A Posthorn process started the way a deployment file says (the image's command, the compose
// service's), for the deploy tests: its output collected, and a wait until it says it is running.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";

export interface DeployedProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
  /** The API's address it printed. */
  apiUrl: string;
}

/** Starts `command args` in `cwd` with exactly `env`, and resolves once it prints that it runs (40 s at most). */
export async function startDeployed(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<DeployedProcess> {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    const until = Date.now() + 40_000;
    while (!/Posthorn is running/.test(output)) {
      assert.equal(child.exitCode, null, `exited early:\n${output}`);
      assert.ok(Date.now() < until, `did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return { child, output: () => output, exited, apiUrl: /API:\s+(http:\/\/\S+)/.exec(output)![1]! };
}
