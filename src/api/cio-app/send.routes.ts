// Customer.io's transactional send, POST /v1/send/email, as customerio-node's
// APIClient.sendEmail(new SendEmailRequest(...)) sends it, and Posthorn's extension for defining
// the transactional messages it names: GET/POST /v1/transactional, GET/PUT/DELETE
// /v1/transactional/{id or trigger name}. The body is read into our words here, each wrong field
// refused with its name; the domain (src/channels/email/transactional-messages.service.ts) checks
// sizes and sends. Fields Posthorn cannot honour are refused when set (see README.md).
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { PersonIdentifier } from "../../people/people.port.js";
import type { TransactionalContent, TransactionalDefinition, TransactionalMessage, TransactionalMessagesService, TransactionalSendRequest } from "../../channels/email/transactional-messages.service.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppRequestInvalid } from "./app-api.errors.js";
import { isObject } from "./app-api.params.js";

/** Postmark's total message limit (attachments counted base64-encoded), which acceptance applies; the body may carry a little more than that. */
export const SEND_BODY_BYTES = 11 * 1024 * 1024;
const DEFINITION_BODY_BYTES = 2 * 1024 * 1024;

/** Set to a true value, these ask for what Posthorn does not do; refused rather than ignored. */
const REFUSED_FLAGS = ["disable_message_retention", "queue_draft", "fake_bcc"] as const;

export function sendRoutes(deps: { transactional: TransactionalMessagesService }): FastifyPluginAsync {
  const { transactional } = deps;
  return async (app: FastifyInstance) => {
    app.post("/send/email", { bodyLimit: SEND_BODY_BYTES }, async (request) => {
      const sent = await transactional.send(appWorkspace(request).id, sendRequest(request.body));
      return { delivery_id: sent.deliveryId, queued_at: Math.floor(sent.queuedAt / 1000) };
    });

    app.get("/transactional", async (request) => ({ messages: (await transactional.list(appWorkspace(request).id)).map(messageJson) }));
    app.post("/transactional", { bodyLimit: DEFINITION_BODY_BYTES }, async (request) => ({ message: messageJson(await transactional.create(appWorkspace(request).id, definition(request.body))) }));
    app.get("/transactional/:id", async (request) => ({ message: messageJson(await transactional.get(appWorkspace(request).id, idParam(request.params))) }));
    app.put("/transactional/:id", { bodyLimit: DEFINITION_BODY_BYTES }, async (request) => ({ message: messageJson(await transactional.update(appWorkspace(request).id, idParam(request.params), definition(request.body))) }));
    app.delete("/transactional/:id", async (request, reply) => {
      await transactional.delete(appWorkspace(request).id, idParam(request.params));
      return reply.code(204).send();
    });
  };
}

function idParam(params: unknown): string {
  return (params as { id: string }).id;
}

function sendRequest(body: unknown): TransactionalSendRequest {
  if (!isObject(body)) throw AppRequestInvalid("The body must be a JSON object.", { field: null });
  for (const flag of REFUSED_FLAGS) {
    if (body[flag] === true) throw AppRequestInvalid(`${flag} is not supported by Posthorn.`, { field: flag });
  }
  if (body.body_amp !== undefined && body.body_amp !== null && body.body_amp !== "") throw AppRequestInvalid("body_amp (AMP for email) is not supported by Posthorn.", { field: "body_amp" });
  const message = body.transactional_message_id;
  if (message !== undefined && message !== null && !(typeof message === "string" && message !== "") && !(typeof message === "number" && Number.isSafeInteger(message) && message > 0)) {
    throw AppRequestInvalid("transactional_message_id must be a message id or trigger name.", { field: "transactional_message_id" });
  }
  const own = message === undefined || message === null;
  const content = own || body.from !== undefined || body.subject !== undefined || body.body !== undefined ? { from: text(body, "from"), subject: text(body, "subject"), body: text(body, "body") } : null;
  const sendAt = body.send_at;
  if (sendAt !== undefined && sendAt !== null && !(typeof sendAt === "number" && Number.isInteger(sendAt) && sendAt > 0)) throw AppRequestInvalid("send_at must be a unix time in seconds.", { field: "send_at" });
  return {
    message: own ? null : String(message),
    content: content && { from: content.from ?? undefined, subject: content.subject ?? undefined, body: content.body ?? undefined },
    identifiers: identifiers(body.identifiers),
    to: text(body, "to"),
    messageData: optionalObject(body, "message_data") ?? {},
    headers: stringMap(body, "headers"),
    replyTo: text(body, "reply_to"),
    bcc: text(body, "bcc"),
    bodyPlain: text(body, "body_plain"),
    preheader: text(body, "preheader"),
    sendToUnsubscribed: flag(body, "send_to_unsubscribed", true),
    tracked: flag(body, "tracked", true),
    attachments: Object.entries(optionalObject(body, "attachments") ?? {}).map(([name, content]) => {
      if (typeof content !== "string") throw AppRequestInvalid(`attachments.${name} must be base64 text.`, { field: `attachments.${name}` });
      return { name, content };
    }),
    sendAt: typeof sendAt === "number" ? sendAt * 1000 : null,
  };
}

function identifiers(value: unknown): PersonIdentifier {
  if (!isObject(value)) throw AppRequestInvalid("identifiers is required: {id}, {email} or {cio_id}.", { field: "identifiers" });
  const keys = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
  if (keys.length !== 1 || !["id", "email", "cio_id"].includes(keys[0]!)) throw AppRequestInvalid("identifiers must have exactly one of id, email or cio_id.", { field: "identifiers" });
  const kind = keys[0] as "id" | "email" | "cio_id";
  const v = value[kind];
  if ((typeof v !== "string" && typeof v !== "number") || String(v) === "" || String(v).length > 150) throw AppRequestInvalid(`identifiers.${kind} must be text of 1–150 characters.`, { field: `identifiers.${kind}` });
  return { kind, value: String(v) };
}

function definition(body: unknown): TransactionalDefinition {
  if (!isObject(body)) throw AppRequestInvalid("The body must be a JSON object.", { field: null });
  const m = isObject(body.message) ? body.message : body;
  const name = text(m, "name");
  if (!name) throw AppRequestInvalid("name is required.", { field: "name" });
  const content: TransactionalContent = {
    from: text(m, "from") ?? "",
    subject: text(m, "subject") ?? "",
    body: text(m, "body"),
    bodyPlain: text(m, "body_plain"),
    replyTo: text(m, "reply_to"),
    preheader: text(m, "preheader"),
    headers: stringMap(m, "headers"),
  };
  return { name, triggerName: text(m, "trigger_name"), content };
}

function messageJson(m: TransactionalMessage) {
  const c = m.content;
  return {
    id: Number(m.id),
    name: m.name,
    trigger_name: m.triggerName,
    from: c.from,
    subject: c.subject,
    body: c.body,
    body_plain: c.bodyPlain,
    reply_to: c.replyTo,
    preheader: c.preheader,
    headers: c.headers,
    created_at: Math.floor(m.createdAt / 1000),
    updated_at: Math.floor(m.updatedAt / 1000),
  };
}

function text(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw AppRequestInvalid(`${field} must be text.`, { field });
  return v;
}

function flag(o: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = o[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw AppRequestInvalid(`${field} must be true or false.`, { field });
  return v;
}

function optionalObject(o: Record<string, unknown>, field: string): Record<string, unknown> | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw AppRequestInvalid(`${field} must be an object.`, { field });
  return v;
}

function stringMap(o: Record<string, unknown>, field: string): Record<string, string> {
  const v = optionalObject(o, field) ?? {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw AppRequestInvalid(`${field}.${k} must be text.`, { field: `${field}.${k}` });
    out[k] = x;
  }
  return out;
}
