// The submission listeners in their own thread (submission.thread.ts), seen from the main thread:
// it answers the thread's calls from the domain — AUTH, a trusted network's workspace, and
// acceptance — and stands in for the thread's servers (address, certificate, close). A listener
// that cannot bind fails the start as the in-thread one does, naming the key to change.
import { Worker } from "node:worker_threads";
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { PosthornError } from "../shared/errors.js";
import type { SubmissionServer } from "../smtp/submission.server.js";
import { submissionFromSmtp } from "../smtp/x-pm-headers.js";
import type { TlsCredentials } from "../smtp/tls-certificate.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { AcceptService } from "../messages/accept/accept.service.js";
import { bindProblem } from "./submission-listeners.js";
import { batchPoster } from "../shared/thread-batches.js";
import type { FromSubmissionThread, SubmissionAnswer, SubmissionCall, SubmissionThreadData, ToSubmissionThread } from "./submission.protocol.js";

export interface ThreadedSubmissionDeps {
  config: Config;
  logger: Logger;
  tls: TlsCredentials | null;
  listeners: SubmissionThreadData["listeners"];
  workspaces: WorkspacesService;
  accept: AcceptService;
}

export async function startThreadedSubmission(deps: ThreadedSubmissionDeps): Promise<SubmissionServer[]> {
  const { config, logger, workspaces, accept } = deps;

  const answer = async (request: SubmissionCall): Promise<SubmissionAnswer> => {
    switch (request.op) {
      case "authenticate":
        return workspaces.authenticateSmtp(request.username, request.password);
      case "workspace":
        return workspaces.get(request.name);
      case "accept": {
        // The bytes arrive as a Uint8Array over the copied memory; a Buffer over the same memory.
        const raw = Buffer.from(request.message.raw.buffer, request.message.raw.byteOffset, request.message.raw.byteLength);
        const accepted = await accept.acceptOne(request.workspace, submissionFromSmtp({ ...request.message, raw }));
        return { messageId: accepted.messageId };
      }
    }
  };

  const reply = (post: (message: ToSubmissionThread) => void, id: number, request: SubmissionCall): void => {
    answer(request).then(
      (value) => post({ type: "answer", id, ok: true, value }),
      (err: unknown) => {
        const coded = err instanceof PosthornError;
        // An uncoded failure is ours: logged here with its stack, answered 451 by the thread.
        if (!coded) logger.error({ event: "smtp.thread.call-failed", err }, "SMTP submission: a call from the submission thread failed");
        post({
          type: "answer",
          id,
          ok: false,
          code: coded ? err.code : null,
          message: (err as Error)?.message ?? String(err),
          details: coded ? { ...err.details } : {},
        });
      },
    );
  };

  let worker: Worker;
  let post: (message: ToSubmissionThread) => void;
  let closing: Promise<void> | null = null;

  /** Starts the thread and resolves with its listeners once they are bound. */
  const launch = (listeners: SubmissionThreadData["listeners"]): Promise<Listening> =>
    new Promise<Listening>((resolve, reject) => {
      const w = new Worker(new URL("./submission.thread.js", import.meta.url), {
        workerData: { config, tls: deps.tls, listeners } satisfies SubmissionThreadData,
      });
      worker = w;
      const postToThread = (post = batchPoster((batch: ToSubmissionThread[]) => w.postMessage(batch)));
      let bound = false;
      const receive = (message: FromSubmissionThread): void => {
        if (message.type === "call") reply(postToThread, message.id, message);
        else if (message.type === "listening") {
          bound = true;
          resolve(message.servers);
        } else if (message.type === "failed") {
          void w.terminate();
          reject(bindProblem(message.key, Object.assign(new Error(message.message), { code: message.code })));
        }
      };
      w.on("message", (messages: FromSubmissionThread[]) => {
        for (const message of messages) receive(message);
      });
      w.on("error", (err) => {
        logger.error({ event: "smtp.thread.failed", err }, "the SMTP submission thread failed");
        if (!bound) reject(err);
      });
      w.on("exit", (code) => {
        if (!bound) return reject(new Error(`the SMTP submission thread exited (code ${code})`));
        if (closing) return;
        // Sessions on the dead thread are gone (their clients retry, as after any dropped
        // connection); nothing accepted is lost, since a 250 follows only a commit here. The
        // listeners come back on the ports they had.
        logger.error({ event: "smtp.thread.restarted", code }, "the SMTP submission thread stopped; starting it again");
        const again = listeners.map((l, i) => ({ ...l, port: servers[i]!.port }));
        launch(again).catch((err: unknown) => logger.fatal({ event: "smtp.thread.restart-failed", err }, "the SMTP submission thread could not start again; submission is down"));
      });
    });

  type Listening = Array<{ key: string; host: string; port: number; fingerprint256: string }>;

  /** Closes every listener of the thread (one thread holds them all); idempotent. */
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const w = worker;
      await new Promise<void>((resolve) => {
        w.on("message", (messages: FromSubmissionThread[]) => messages.some((m) => m.type === "closed") && resolve());
        w.once("exit", () => resolve());
        // Through the batch, so that it follows every answer posted before it.
        post({ type: "close" });
      });
      await w.terminate();
    })();
    return closing;
  };

  const servers = (await launch(deps.listeners)).map((s) => ({ host: s.host, port: s.port, fingerprint256: s.fingerprint256, close }));
  return servers;
}
