// The Suppressions API of a stream: GET /message-streams/{id}/suppressions/dump, and POST
// /message-streams/{id}/suppressions and /suppressions/delete ({Suppressions:[{EmailAddress}]}),
// which answer per address (Status Suppressed, Deleted or Failed, with a Message).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { SuppressionOrigin, SuppressionReason } from "../../suppressions/suppressions.service.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { dateParam, requireWorkspace, stringParam, type Query } from "./query-params.js";
import { toSuppression, toSuppressionChange } from "./stream.mapper.js";

const REASONS: readonly SuppressionReason[] = ["HardBounce", "SpamComplaint", "ManualSuppression"];
const ORIGINS: readonly SuppressionOrigin[] = ["Recipient", "Customer", "Admin"];

export async function suppressionsRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  // count and offset, which the official client always sends, are ignored: Postmark's dump has no paging.
  app.get("/message-streams/:id/suppressions/dump", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const suppressions = await deps.suppressions.dump(workspace.id, idOf(request), {
      reason: oneOf(q, "suppressionreason", REASONS, "SuppressionReason"),
      origin: oneOf(q, "origin", ORIGINS, "Origin"),
      email: stringParam(q, "emailaddress"),
      from: dateParam(q, "fromdate", false),
      to: dateParam(q, "todate", true),
    });
    return { Suppressions: suppressions.map(toSuppression) };
  });

  app.post("/message-streams/:id/suppressions", async (request) => {
    const workspace = requireWorkspace(request);
    const changes = await deps.suppressions.suppressByCustomer(workspace.id, idOf(request), addressesIn(request));
    return { Suppressions: changes.map(toSuppressionChange) };
  });

  app.post("/message-streams/:id/suppressions/delete", async (request) => {
    const workspace = requireWorkspace(request);
    const changes = await deps.suppressions.reactivateByCustomer(workspace.id, idOf(request), addressesIn(request));
    return { Suppressions: changes.map(toSuppressionChange) };
  });
}

function idOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

/** The addresses of {Suppressions:[{EmailAddress}]}; an entry without a text EmailAddress is passed on as null (it fails alone). */
function addressesIn(request: FastifyRequest): unknown {
  const body = request.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object with 'Suppressions'.");
  const list = (body as { Suppressions?: unknown }).Suppressions;
  if (!Array.isArray(list)) throw InvalidRequest("'Suppressions' must be a list of {EmailAddress} objects.");
  return list.map((entry: unknown) => (entry !== null && typeof entry === "object" ? ((entry as { EmailAddress?: unknown }).EmailAddress ?? null) : null));
}

/** A filter value from a fixed list, matched in any case. */
function oneOf<T extends string>(q: Query, key: string, values: readonly T[], name: string): T | undefined {
  const raw = stringParam(q, key);
  if (raw === undefined) return undefined;
  const found = values.find((v) => v.toLowerCase() === raw.toLowerCase());
  if (!found) throw InvalidRequest(`'${name}' must be one of ${values.join(", ")}.`);
  return found;
}
