// The pipeline edge's answers and its one table from failures to HTTP statuses. Segment's HTTP API
// answers 200 to every request except those too large or not JSON, which get 400 (Segment's HTTP
// API docs, "Errors"); bad events inside an accepted request are skipped and counted, not
// answered. Both official libraries read only the status: @segment/analytics-node 3.1.0 drops a
// batch on 400 and on other 4xx except 408/410/429/460, retries 5xx (but 501/505), and honours
// Retry-After on 429; @customerio/cdp-analytics-node 0.5.9 drops on 400 and retries everything
// else that is not 2xx. So: 400 for what a retry cannot fix, 401 for credentials, 429 with
// Retry-After when the process is out of body budget, 500 for our own failures (retried).
//
// Body form: `{"success": true}` as Segment answers, and `{"success": false, "message": …}` for
// refusals. These refusals are the HTTP layer's, not domain errors, so they are values here
// rather than catalogued codes; what the people domain refuses comes back per event as its own
// coded OperationResult and is listed under `skipped`.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { isPosthornError } from "../../shared/errors.js";

/** Largest single call (POST /v1/track …) and largest event inside a batch: Segment's 32 KB. */
export const EVENT_BYTES = 32 * 1024;
/** Largest POST /v1/batch body: Segment's 500 KB (the libraries fill batches to 480 KB). */
export const BATCH_BYTES = 500 * 1024;
/** Seconds a client told 429 waits (analytics-node retries after at least this, uncounted). */
export const RETRY_AFTER_SECONDS = 1;

export interface Skipped {
  /** The event's position in the batch (0 for a single call). */
  index: number;
  reason: string;
}

export interface AcceptedBody {
  success: true;
  /** Only when some events were skipped (Segment's clients ignore the body). */
  skipped?: Skipped[];
}

export interface RefusalBody {
  success: false;
  message: string;
  skipped?: Skipped[];
}

/** A refusal decided by this edge, carrying its status. */
export class PipelineRefusal extends Error {
  constructor(
    readonly status: 400 | 401 | 429,
    message: string,
    readonly skipped: Skipped[] = [],
  ) {
    super(message);
    this.name = "PipelineRefusal";
  }
}

export const unauthorized = (message = "Unauthorized: send the write key as the Basic username (empty password), or as writeKey in the body."): PipelineRefusal =>
  new PipelineRefusal(401, message);

export function refusalBody(message: string, skipped: Skipped[] = []): RefusalBody {
  return skipped.length > 0 ? { success: false, message, skipped } : { success: false, message };
}

/** Every failure of a pipeline request, in the pipeline's form. */
export function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply, authenticated: boolean): FastifyReply {
  // Refused before the body was read: close rather than read what the client still sends.
  if (!request.raw.complete) reply.header("connection", "close");
  if (err instanceof PipelineRefusal) {
    if (err.status === 429) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(err.status).send(refusalBody(err.message, err.skipped));
  }
  if (isPosthornError(err)) {
    // The root's JSON parser and body budget (api/postmark/json-body.ts, request-bodies.ts) are shared by every family.
    if (err.code === "POSTMARK_INVALID_JSON" || err.code === "POSTMARK_JSON_REQUIRED") return reply.code(400).send(refusalBody(err.message));
    // The body budget refuses only bodies over 1 MB, which this API never reads; kept for a budget that changes.
    if (err.code === "POSTMARK_TOO_BUSY") return reply.code(429).header("retry-after", String(RETRY_AFTER_SECONDS)).send(refusalBody(err.message));
  }
  const fastify = err as Partial<FastifyError>;
  if (fastify.code === "FST_ERR_CTP_BODY_TOO_LARGE" || fastify.statusCode === 413) {
    // Without credentials a body is read only for its writeKey, and one this large has none worth reading.
    if (!authenticated) return reply.code(401).send(refusalBody(unauthorized().message));
    return reply.code(400).send(refusalBody(`The request body is larger than this call accepts (${EVENT_BYTES / 1024} KB per call, ${BATCH_BYTES / 1024} KB per batch).`));
  }
  if (fastify.statusCode !== undefined && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return reply.code(400).send(refusalBody(fastify.message ?? "Bad request."));
  }
  request.log.error({ event: "http.request.failed", err, url: request.url }, "pipeline request failed");
  return reply.code(500).send(refusalBody("Internal server error; retry later."));
}
