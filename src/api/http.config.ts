// Configuration of the HTTP edge: where the API listens, and how long and how large a request
// may be (the limits that keep one client from holding the process).
import { z } from "zod";
import { configFragment, duration, flag, port } from "../config/config.fragment.js";
import { parseDuration } from "../shared/durations.js";

export interface HttpConfigPart {
  http: {
    port: number;
    host: string;
    /** Headers and body must have arrived within this, or the request is answered 408 and its connection closed. */
    requestTimeoutMs: number;
    /** Bytes of request bodies being received and handled at once; a large body beyond it gets 429. */
    bodyBudgetBytes: number;
    /** DELETE /servers/{id} may delete a workspace and everything stored for it (off: 422 / 604). */
    serverDeletion: boolean;
    /** Whether a sane incoming X-Request-Id names the request in logs and the answer (else a new one). */
    trustRequestId: boolean;
  };
}

export const httpConfig = configFragment({
  name: "http",
  keys: {
    /** API port (0 picks a free one). */
    POSTHORN_HTTP_PORT: port.default(8080),
    /** API listen address. */
    POSTHORN_HTTP_HOST: z.string().min(1).default("0.0.0.0"),
    /**
     * Time a client has to send a whole request, headers and body (408 and the connection closed
     * beyond it), so that a client trickling bytes cannot hold a connection open.
     */
    POSTHORN_HTTP_REQUEST_TIMEOUT: duration.default(parseDuration("60s")),
    /**
     * Bytes of request bodies held at once, in bytes: a body over 1 MB that would exceed it is
     * answered 429 (retry later) instead of being read, so parallel 50 MB batches cannot exhaust
     * memory. Smaller bodies are always admitted.
     */
    POSTHORN_HTTP_BODY_BUDGET: z.coerce.number().int().min(1_048_576).default(128 * 1024 * 1024),
    /**
     * Whether the account API's DELETE /servers/{id} deletes a workspace with all its messages,
     * events and tokens. Off by default, as Postmark's server deletion must be enabled first: one
     * leaked account token should not be able to wipe every workspace.
     */
    POSTHORN_API_SERVER_DELETION: flag(false),
    /**
     * Whether the X-Request-Id header of an incoming request (set by a proxy in front) becomes its
     * request id, when it is 1–128 letters, digits and `._:-`. Off: each request gets a new UUID,
     * so clients cannot write into the logs.
     */
    POSTHORN_HTTP_TRUST_REQUEST_ID: flag(false),
  },
  toConfig: (e): HttpConfigPart => ({
    http: {
      port: e.POSTHORN_HTTP_PORT,
      host: e.POSTHORN_HTTP_HOST,
      requestTimeoutMs: e.POSTHORN_HTTP_REQUEST_TIMEOUT,
      bodyBudgetBytes: e.POSTHORN_HTTP_BODY_BUDGET,
      serverDeletion: e.POSTHORN_API_SERVER_DELETION,
      trustRequestId: e.POSTHORN_HTTP_TRUST_REQUEST_ID,
    },
  }),
});
