// Body parsing shared by the Postmark server and account APIs.
import type { FastifyInstance } from "fastify";
import { InvalidJson, JsonRequired } from "./postmark.edge-errors.js";

/**
 * Postmark clients send Content-Type: application/json with an empty body on some POST/PUT
 * calls; Fastify's default parser rejects that, so an empty body parses as {}. Invalid JSON and
 * non-JSON bodies get Postmark's error codes (402, 409).
 */
export function installJsonParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(["application/json"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === "") return done(null, {});
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
