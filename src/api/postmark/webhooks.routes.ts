// GET/POST /webhooks and GET/PUT/DELETE /webhooks/{id}: a workspace's outbound webhooks, per stream
// (Postmark's Webhooks API). The body's shape is checked here; the rules (URL, limits, the cap per
// stream) are the webhooks domain's. HttpAuth comes back as it was set, as Postmark returns it.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WebhooksService } from "../../webhooks/webhooks.service.js";
import { WebhookNotFound } from "../../webhooks/webhooks.errors.js";
import type { TriggerName, WebhookChanges, WebhookRecord } from "../../webhooks/webhook.record.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import { requireWorkspace, stringParam, type Query } from "./query-params.js";

/** Postmark's trigger names and the flags each carries, and ours. */
const TRIGGERS: Array<[postmark: string, ours: TriggerName, flags: Array<[postmark: string, ours: string]>]> = [
  ["Open", "open", [["PostFirstOpenOnly", "firstOpenOnly"]]],
  ["Click", "click", []],
  ["Delivery", "delivery", []],
  ["Bounce", "bounce", [["IncludeContent", "includeContent"]]],
  ["SpamComplaint", "complaint", [["IncludeContent", "includeContent"]]],
  ["SubscriptionChange", "subscriptionChange", []],
];

const DEFAULT_STREAM = "outbound";

export async function webhooksRoutes(app: FastifyInstance, deps: { webhooks: WebhooksService }): Promise<void> {
  app.get("/webhooks", async (request) => {
    const workspace = requireWorkspace(request);
    const stream = stringParam(request.query as Query, "messagestream");
    return { Webhooks: (await deps.webhooks.list(workspace.id, stream)).map(toPostmarkWebhook) };
  });

  app.get("/webhooks/:id", async (request) => {
    const workspace = requireWorkspace(request);
    return toPostmarkWebhook(await deps.webhooks.get(workspace.id, webhookId(request)));
  });

  app.post("/webhooks", async (request) => {
    const workspace = requireWorkspace(request);
    const body = objectBody(request.body);
    const stream = body.MessageStream === undefined || body.MessageStream === null ? DEFAULT_STREAM : body.MessageStream;
    if (typeof stream !== "string" || stream === "") throw InvalidRequest("'MessageStream' must be a stream id.");
    if (typeof body.Url !== "string") throw InvalidRequest("'Url' is required and must be a string.");
    return toPostmarkWebhook(await deps.webhooks.create(workspace.id, stream, changesOf(body)));
  });

  app.put("/webhooks/:id", async (request) => {
    const workspace = requireWorkspace(request);
    const id = webhookId(request);
    const body = objectBody(request.body);
    // A webhook stays on its stream (Postmark: MessageStream is not editable); naming another is refused rather than ignored.
    if (body.MessageStream !== undefined && body.MessageStream !== null) {
      const current = await deps.webhooks.get(workspace.id, id);
      if (body.MessageStream !== current.stream) throw InvalidRequest("A webhook's 'MessageStream' cannot be changed.");
    }
    return toPostmarkWebhook(await deps.webhooks.update(workspace.id, id, changesOf(body)));
  });

  app.delete("/webhooks/:id", async (request) => {
    const workspace = requireWorkspace(request);
    const id = webhookId(request);
    await deps.webhooks.delete(workspace.id, id);
    return { ErrorCode: 0, Message: `Webhook ${id} removed.` };
  });
}

export function toPostmarkWebhook(w: WebhookRecord) {
  const t = w.triggers;
  return {
    ID: w.id,
    Url: w.url,
    MessageStream: w.stream,
    HttpAuth: w.auth ? { Username: w.auth.username, Password: w.auth.password } : null,
    HttpHeaders: w.headers.map((h) => ({ Name: h.name, Value: h.value })),
    Triggers: {
      Open: { Enabled: t.open.enabled, PostFirstOpenOnly: t.open.firstOpenOnly },
      Click: { Enabled: t.click.enabled },
      Delivery: { Enabled: t.delivery.enabled },
      Bounce: { Enabled: t.bounce.enabled, IncludeContent: t.bounce.includeContent },
      SpamComplaint: { Enabled: t.complaint.enabled, IncludeContent: t.complaint.includeContent },
      SubscriptionChange: { Enabled: t.subscriptionChange.enabled },
    },
  };
}

function webhookId(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  // Ids are numbers; anything else names no webhook (15 digits stay within a safe integer).
  if (!/^\d{1,15}$/.test(raw)) throw WebhookNotFound(`No webhook with id '${raw.slice(0, 40)}'.`);
  return Number(raw);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

/** The changes a body asks for, its shape checked: a field left out is left as it is. */
function changesOf(body: Record<string, unknown>): WebhookChanges {
  const changes: WebhookChanges = {};
  if (body.Url !== undefined) {
    if (typeof body.Url !== "string") throw InvalidRequest("'Url' must be a string.");
    changes.url = body.Url;
  }
  if (body.HttpAuth !== undefined) {
    const auth = body.HttpAuth;
    if (auth === null) changes.auth = null;
    else {
      const a = objectField(auth, "HttpAuth");
      const username = a.Username ?? "";
      const password = a.Password ?? "";
      if (typeof username !== "string" || typeof password !== "string") throw InvalidRequest("'HttpAuth' needs string 'Username' and 'Password'.");
      changes.auth = { username, password };
    }
  }
  if (body.HttpHeaders !== undefined && body.HttpHeaders !== null) {
    if (!Array.isArray(body.HttpHeaders)) throw InvalidRequest("'HttpHeaders' must be an array of {Name, Value}.");
    changes.headers = body.HttpHeaders.map((h) => {
      const header = objectField(h, "HttpHeaders");
      if (typeof header.Name !== "string" || typeof header.Value !== "string") throw InvalidRequest("Each of 'HttpHeaders' needs a string 'Name' and 'Value'.");
      return { name: header.Name, value: header.Value };
    });
  }
  if (body.Triggers !== undefined && body.Triggers !== null) {
    const triggers = objectField(body.Triggers, "Triggers");
    const out: Record<string, Record<string, boolean>> = {};
    for (const [postmark, ours, flags] of TRIGGERS) {
      const given = triggers[postmark];
      if (given === undefined || given === null) continue;
      const trigger = objectField(given, `Triggers.${postmark}`);
      const change: Record<string, boolean> = {};
      for (const [pm, our] of [["Enabled", "enabled"], ...flags]) {
        const value = trigger[pm!];
        if (value === undefined || value === null) continue;
        if (typeof value !== "boolean") throw InvalidRequest(`'Triggers.${postmark}.${pm}' must be true or false.`);
        change[our!] = value;
      }
      out[ours] = change;
    }
    changes.triggers = out as WebhookChanges["triggers"];
  }
  return changes;
}

function objectField(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw InvalidRequest(`'${name}' must be an object.`);
  return value as Record<string, unknown>;
}
