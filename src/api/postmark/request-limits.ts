// Body limits of the Postmark server API. The test token (POSTMARK_API_TEST) is public: whoever
// knows Postmark's docs can use it, so its requests are treated as unauthenticated ones and kept
// small. A real token gets Postmark's limits (routes set them: 50 MB for a batch).
import type { FastifyInstance } from "fastify";
import { capped } from "../request-bodies.js";
import { BodyTooLarge } from "./postmark.edge-errors.js";

/** Largest body a request with the test token may send. */
export const TEST_TOKEN_BODY_BYTES = 1024 * 1024;

/** Largest body of a call that is not a send: settings, rules, queries. */
export const DEFAULT_BODY_BYTES = 1024 * 1024;

/** Largest body of POST /email: one message of at most 10 MB (attachments counted base64-encoded), in JSON. */
export const MESSAGE_BODY_BYTES = 12 * 1024 * 1024;

/** Largest body of POST /email/batch (Postmark's limit). */
export const BATCH_BODY_BYTES = 50 * 1024 * 1024;

export function limitTestTokenBodies(app: FastifyInstance): void {
  app.addHook("preParsing", async (request, _reply, payload) => {
    if (request.workspace !== null) return payload;
    return capped(request, payload, TEST_TOKEN_BODY_BYTES, () =>
      BodyTooLarge("Requests with the test token POSTMARK_API_TEST may send at most 1 MB; use a server token for larger messages."),
    );
  });
}
