// The id of one HTTP request: on every log line written while Fastify handles it (`requestId`,
// Fastify's request logger) and answered as the X-Request-Id header, so a client's report of a
// failed call can be found in the logs.
//
// An incoming X-Request-Id is taken only when the operator says the proxy in front sets it
// (POSTHORN_HTTP_TRUST_REQUEST_ID), and only when it looks like an id: otherwise any client could
// write what it likes into our log lines, or make lines of two requests look like one.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";

/** Letters, digits and . _ : - up to 128 characters: UUIDs, ULIDs and the usual proxies' ids. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: the trusted incoming id when it is sane, else a new random UUID. */
export function requestIdGenerator(trustIncoming: boolean): (raw: IncomingMessage) => string {
  if (!trustIncoming) return () => randomUUID();
  return (raw) => {
    const incoming = raw.headers[REQUEST_ID_HEADER];
    return typeof incoming === "string" && SANE_ID.test(incoming) ? incoming : randomUUID();
  };
}
