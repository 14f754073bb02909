// Body parsing for the whole HTTP edge (installed once, at its root, so that paths Posthorn does
// not serve parse bodies the same way as those it does).
import type { FastifyInstance } from "fastify";
import { InvalidJson, JsonRequired } from "./postmark.edge-errors.js";

/**
 * Deepest nesting of arrays and objects a body may have. Postmark's shapes nest four deep (a
 * batch of messages with header lists); JSON.parse builds any depth without complaint, and eight
 * megabytes of "[[[[" took it seconds with the event loop blocked.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Postmark clients send Content-Type: application/json with an empty body on some POST/PUT
 * calls; Fastify's default parser rejects that, so an empty body parses as {}. Invalid JSON and
 * non-JSON bodies get Postmark's error codes (402, 409).
 */
export function installJsonParsers(app: FastifyInstance): void {
  // Fastify's own parsers go (text/plain among them): every body is JSON or refused as not JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === "") return done(null, {});
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(InvalidJson(`The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(InvalidJson("The request body is not valid JSON."), undefined);
    }
  });
  app.addContentTypeParser("*", { parseAs: "string" }, (request, body, done) => {
    if ((body as string).length === 0) return done(null, {});
    done(JsonRequired(`Requests must be JSON; got Content-Type '${request.headers["content-type"] ?? ""}'.`), undefined);
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether JSON text opens more than `max` arrays/objects inside one another (brackets inside
 * strings do not count). One pass over the text, a millisecond per megabyte; invalid JSON is left
 * for JSON.parse to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
