// The App API's people calls: look people up by email, search them by attribute filter, and read
// one person's attributes, segments and activities (the people domain's events and attribute
// changes merged by time with the person's segment entries and exits).
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { PeopleFilter, Person, ActivityItem } from "../../people/people.port.js";
import type { SegmentChange } from "../../segments/segments.port.js";
import type { AppApiDeps } from "./app-api.plugin.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppCustomerNotFound, AppRequestInvalid } from "./app-api.errors.js";
import { activityJson, attributesJson, identifiersJson, segmentJson } from "./app-api.mapper.js";
import { outreachMessageJson } from "./messages.mapper.js";
import { isObject, limitParam, personParam, queryParam, startParam } from "./app-api.params.js";

const DEFAULT_SEARCH_PAGE = 50;
const MAX_SEARCH_PAGE = 1_000;
const DEFAULT_ACTIVITIES_PAGE = 50;
const DEFAULT_MESSAGES_PAGE = 50;
const MAX_MESSAGES_PAGE = 100;
const MAX_ACTIVITIES_PAGE = 100;
/** Segment changes shown beside one page of activity at most (a person entering and leaving thousands of times in one page's span is cut here). */
const SEGMENT_CHANGES_PER_PAGE = 1_000;
/** The deepest filter tree accepted. */
const MAX_FILTER_DEPTH = 10;

export function customersRoutes(deps: AppApiDeps): FastifyPluginAsync {
  const { people, segments } = deps;
  const person = async (request: FastifyRequest): Promise<Person> => {
    const who = personParam(request);
    const found = await people.find(appWorkspace(request).id, who);
    if (!found) throw AppCustomerNotFound(`There is no customer with ${who.kind} ${who.value}.`);
    return found;
  };

  return async (app: FastifyInstance) => {
    app.get("/customers", async (request) => {
      const email = queryParam(request, "email");
      if (email === undefined || email === "") throw AppRequestInvalid("email is required.", { field: "email" });
      const found = await people.find(appWorkspace(request).id, { kind: "email", value: email });
      return { results: found ? [identifiersJson(found)] : [] };
    });

    app.post("/customers", async (request) => {
      const body = request.body;
      if (!isObject(body) || body.filter === undefined) throw AppRequestInvalid('The body must be {"filter": {…}}.', { field: "filter" });
      const filter = parseFilter(body.filter, "filter", 1);
      const page = await people.search(appWorkspace(request).id, filter, { limit: limitParam(request, DEFAULT_SEARCH_PAGE, MAX_SEARCH_PAGE), cursor: startParam(request) });
      const identifiers = page.items.map(identifiersJson);
      return { identifiers, ids: identifiers.map((i) => i.id ?? ""), next: page.next ?? "" };
    });

    app.get("/customers/:id/attributes", async (request) => attributesJson(await person(request)));

    app.get("/customers/:id/segments", async (request) => {
      const found = await person(request);
      const shown = [];
      for (const membership of await segments.segmentsOf(found.workspaceId, found.personId)) {
        const segment = await segments.get(found.workspaceId, membership.segmentId);
        if (segment) shown.push(segmentJson(segment, await segments.filled(segment.workspaceId, segment.segmentId)));
      }
      return { segments: shown };
    });

    // Customer.io's customer messages, from the outreach ledger (journey, broadcast and transactional mail to the person), newest first.
    app.get("/customers/:id/messages", async (request) => {
      const found = await person(request);
      const page = await deps.outreach.messagesOf(found.workspaceId, found.personId, { limit: limitParam(request, DEFAULT_MESSAGES_PAGE, MAX_MESSAGES_PAGE), cursor: startParam(request) });
      return { messages: page.items.map((m) => outreachMessageJson(found, m)), next: page.next ?? "" };
    });

    app.get("/customers/:id/activities", async (request) => {
      const found = await person(request);
      const limit = limitParam(request, DEFAULT_ACTIVITIES_PAGE, MAX_ACTIVITIES_PAGE);
      const cursor = decodeActivitiesCursor(startParam(request));
      const page = await people.activity(found.workspaceId, found.personId, { limit, cursor: cursor.people });
      // This page covers [oldest item, the previous page's oldest): the segment changes in that span go with it; the last page takes all older ones.
      const lower = page.next === null || page.items.length === 0 ? null : Math.min(...page.items.map((i) => i.at));
      const changes = await segments.historyBetween(found.workspaceId, found.personId, { from: lower, to: cursor.before }, SEGMENT_CHANGES_PER_PAGE);
      const merged: Array<ActivityItem | SegmentChange> = [...page.items, ...changes].sort((a, b) => b.at - a.at);
      return { activities: merged.map((item) => activityJson(found, item)), next: page.next === null ? "" : encodeActivitiesCursor({ people: page.next, before: lower }) };
    });
  };
}

interface ActivitiesCursor {
  people: string | null;
  before: number | null;
}

function encodeActivitiesCursor(cursor: ActivitiesCursor): string {
  return Buffer.from(JSON.stringify([cursor.people, cursor.before]), "utf8").toString("base64url");
}

function decodeActivitiesCursor(start: string | null): ActivitiesCursor {
  if (start === null) return { people: null, before: null };
  try {
    const [people, before] = JSON.parse(Buffer.from(start, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof people === "string" && (before === null || typeof before === "number")) return { people, before };
  } catch {
    // refused below
  }
  throw AppRequestInvalid("The start cursor is not one this API gave.", { field: "start" });
}

/** Customer.io's people filter ({and|or: [...]}, {not: …}, {attribute: {field, operator: eq|exists, value?}}) in our words. */
export function parseFilter(input: unknown, path: string, depth: number): PeopleFilter {
  if (depth > MAX_FILTER_DEPTH) throw AppRequestInvalid(`${path}: nested more than ${MAX_FILTER_DEPTH} deep.`, { field: path });
  if (!isObject(input) || Object.keys(input).length !== 1) throw AppRequestInvalid(`${path}: must be an object with one key: and, or, not or attribute.`, { field: path });
  const [key, value] = Object.entries(input)[0]!;
  const at = `${path}.${key}`;
  if (key === "and" || key === "or") {
    if (!Array.isArray(value) || value.length === 0) throw AppRequestInvalid(`${at}: must be a non-empty array.`, { field: at });
    const children = value.map((v, i) => parseFilter(v, `${at}[${i}]`, depth + 1));
    return key === "and" ? { and: children } : { or: children };
  }
  if (key === "not") return { not: parseFilter(value, at, depth + 1) };
  if (key === "attribute") {
    if (!isObject(value)) throw AppRequestInvalid(`${at}: must be {field, operator, value}.`, { field: at });
    const { field, operator } = value;
    if (typeof field !== "string" || field === "") throw AppRequestInvalid(`${at}.field: must be a non-empty string.`, { field: `${at}.field` });
    if (operator !== "eq" && operator !== "exists") throw AppRequestInvalid(`${at}.operator: must be eq or exists.`, { field: `${at}.operator` });
    if (operator === "eq" && value.value === undefined) throw AppRequestInvalid(`${at}.value: is required by eq.`, { field: `${at}.value` });
    return { attribute: { field, operator, ...(operator === "eq" ? { value: value.value } : {}) } };
  }
  if (key === "segment") throw AppRequestInvalid(`${at}: segment filters are not supported by people search; read /v1/segments/{id}/membership.`, { field: at });
  throw AppRequestInvalid(`${at}: unknown filter (expected and, or, not or attribute).`, { field: at });
}
