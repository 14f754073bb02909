// The submission thread's composition root. SMTP submission's protocol work — reading commands,
// writing replies, TLS, collecting DATA — is a fifth of the main thread's work per message; here
// the listeners run on another core. What needs the domain is asked of the main thread
// (threaded-submission.ts): AUTH, the workspace of a trusted network, and acceptance, whose answer
// (or coded error) comes back before the 250 (or the refusal) is sent.
import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../shared/logger.js";
import { PosthornError } from "../shared/errors.js";
import type { SubmissionServer } from "../smtp/submission.server.js";
import type { SmtpIdentity, Workspace } from "../workspaces/workspaces.service.js";
import { ListenerFailed, startSubmissionListeners } from "./submission-listeners.js";
import type { FromSubmissionThread, SubmissionAnswer, SubmissionCall, SubmissionThreadData, ToSubmissionThread } from "./submission.protocol.js";
import { batchPoster } from "../shared/thread-batches.js";

const { config, tls, listeners } = workerData as SubmissionThreadData;
const logger = createLogger(config.logLevel, config.logFormat ?? "json").child({ thread: "submission" });
const port = parentPort!;
const post = batchPoster((batch: FromSubmissionThread[]) => port.postMessage(batch));
const calls = new Map<number, { resolve: (value: SubmissionAnswer) => void; reject: (err: Error) => void }>();
let nextCall = 1;
let servers: SubmissionServer[] = [];

function call(request: SubmissionCall): Promise<SubmissionAnswer> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    post({ type: "call", id, ...request });
  });
}

port.on("message", (messages: ToSubmissionThread[]) => {
  for (const message of messages) handle(message);
});

function handle(message: ToSubmissionThread): void {
  if (message.type === "answer") {
    const waiting = calls.get(message.id);
    if (!waiting) return;
    calls.delete(message.id);
    // A coded error comes back as one, so the reply table maps it as in the main thread.
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(message.code ? new PosthornError(message.code, message.message, message.details) : new Error(message.message));
  } else if (message.type === "close") {
    void Promise.all(servers.map((s) => s.close())).then(() => post({ type: "closed" }));
  }
}

startSubmissionListeners(listeners, {
  config,
  tls,
  logger,
  workspaceNamed: async (name) => (await call({ op: "workspace", name })) as Workspace,
  authenticate: async (username, password) => (await call({ op: "authenticate", username, password })) as SmtpIdentity | null,
  accept: async (workspace, message) => (await call({ op: "accept", workspace, message })) as { messageId: string },
}).then(
  (started) => {
    servers = started;
    post({
      type: "listening",
      servers: started.map((s, i) => ({ key: listeners[i]!.key, host: s.host, port: s.port, fingerprint256: s.fingerprint256 })),
    });
  },
  (err: unknown) => {
    const failed = err instanceof ListenerFailed ? err : new ListenerFailed(listeners[0]!.key, err as Error);
    post({ type: "failed", key: failed.key, code: failed.cause.code ?? null, message: failed.cause.message });
  },
);
