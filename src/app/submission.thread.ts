// The submission thread's composition root. SMTP submission's protocol work — reading commands,
// writing replies, TLS, collecting DATA — is a fifth of the main thread's work per message; here
// the listeners run on another core. What needs the domain is asked of the main thread: AUTH, the
// workspace of a trusted network (remembered for 5 s, as in the main thread), and acceptance, whose
// answer (or coded error) comes back before the 250 (or the refusal) is sent.
import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../shared/logger.js";
import { PosthornError } from "../shared/errors.js";
import { systemClock } from "../shared/clock.js";
import { startSubmissionServer, type SubmissionServer } from "../smtp/submission.server.js";
import type { SmtpIdentity, Workspace } from "../workspaces/workspaces.service.js";
import type { FromSubmissionThread, SubmissionAnswer, SubmissionCall, SubmissionThreadData, ToSubmissionThread } from "./submission.protocol.js";

const TRUSTED_WORKSPACE_CACHE_MS = 5_000;

const { config, tls, listeners } = workerData as SubmissionThreadData;
const logger = createLogger(config.logLevel).child({ thread: "submission" });
const port = parentPort!;
const calls = new Map<number, { resolve: (value: SubmissionAnswer) => void; reject: (err: Error) => void }>();
let nextCall = 1;

function call(request: SubmissionCall): Promise<SubmissionAnswer> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    port.postMessage({ type: "call", id, ...request } satisfies FromSubmissionThread);
  });
}

function workspaceOf(name: string): () => Promise<Workspace> {
  let cached: { workspace: Workspace; until: number } | null = null;
  return async () => {
    const now = systemClock.now();
    if (cached && cached.until > now) return cached.workspace;
    const workspace = (await call({ op: "workspace", name })) as Workspace;
    cached = { workspace, until: now + TRUSTED_WORKSPACE_CACHE_MS };
    return workspace;
  };
}

const servers: SubmissionServer[] = [];

port.on("message", (message: ToSubmissionThread) => {
  if (message.type === "answer") {
    const waiting = calls.get(message.id);
    if (!waiting) return;
    calls.delete(message.id);
    // A coded error comes back as one, so the reply table maps it as in the main thread.
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(message.code ? new PosthornError(message.code, message.message, message.details) : new Error(message.message));
  } else if (message.type === "close") {
    void Promise.all(servers.map((s) => s.close())).then(() => port.postMessage({ type: "closed" } satisfies FromSubmissionThread));
  }
});

void (async () => {
  const trustedNetworks = config.smtp.trustedNetworks.map((n) => ({ cidr: n.cidr, workspace: workspaceOf(n.workspace) }));
  for (const listener of listeners) {
    try {
      servers.push(
        await startSubmissionServer({
          host: config.smtp.host,
          port: listener.port,
          implicitTls: listener.implicitTls,
          hostname: config.hostname,
          tls,
          dataDir: config.dataDir,
          allowInsecureAuth: config.smtp.allowInsecureAuth,
          trustedNetworks,
          maxMessageBytes: config.smtp.maxMessageBytes,
          closeTimeoutMs: config.shutdownTimeoutMs,
          logger,
          accept: async (workspace, smtpMessage) => (await call({ op: "accept", workspace, message: smtpMessage })) as { messageId: string },
          authenticate: async (username, password) => (await call({ op: "authenticate", username, password })) as SmtpIdentity | null,
        }),
      );
    } catch (err) {
      await Promise.all(servers.map((s) => s.close()));
      const e = err as Error & { code?: string };
      port.postMessage({ type: "failed", key: listener.key, code: e.code ?? null, message: e.message } satisfies FromSubmissionThread);
      return;
    }
  }
  port.postMessage({
    type: "listening",
    servers: servers.map((s, i) => ({ key: listeners[i]!.key, host: s.host, port: s.port, fingerprint256: s.fingerprint256 })),
  } satisfies FromSubmissionThread);
})();
