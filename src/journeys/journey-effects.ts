// The effects a run's steps ask for, rendered. Emails go out with their Liquid unrendered (the
// outreach mailer renders them with the person it sends to, so a held and retried send shows the
// person as they are then); webhooks and attribute updates are rendered here, and a Liquid output
// that cannot be used (an URL that is no longer http(s), a header with a line break, a rendering
// past its limits) fails the effect, not the process.
import type { Person } from "../people/people.port.js";
import type { LiquidRenderer, LiquidScope } from "../templates/liquid/liquid.renderer.js";
import type { RunScope } from "./journey-interpreter.port.js";
import type { JourneyDefinition, WebhookRequest } from "./journey.model.js";

export class EffectRenderFailed extends Error {}

/** What Liquid sees in a run: `customer` (when the person is known), `event`, `trigger`, `journey`, `steps`, `campaign`. */
export function liquidScope(definition: JourneyDefinition, journeyId: string, scope: RunScope, person: Person | null): LiquidScope {
  const out: LiquidScope = {
    event: scope.event ?? {},
    trigger: scope.trigger,
    journey: scope.journey,
    steps: scope.steps,
    campaign: { id: journeyId, name: definition.name, type: "journey" },
  };
  if (person) out.customer = customerOf(person);
  return out;
}

/** The person as Liquid's `customer`: their attributes, and their id, email and cio_id. */
export function customerOf(person: Person): Record<string, unknown> {
  return { ...person.attributes, id: person.id, email: person.email, cio_id: person.personId };
}

async function render(liquid: LiquidRenderer, template: string, scope: LiquidScope, field: string): Promise<string> {
  try {
    return await liquid.render(template, scope);
  } catch (err) {
    throw new EffectRenderFailed(`${field}: ${(err as Error).message}`);
  }
}

/** Every string of a JSON value rendered. */
export async function renderLeaves(liquid: LiquidRenderer, value: unknown, scope: LiquidScope, field: string): Promise<unknown> {
  if (typeof value === "string") return render(liquid, value, scope, field);
  if (Array.isArray(value)) return Promise.all(value.map((v, i) => renderLeaves(liquid, v, scope, `${field}[${i}]`)));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await renderLeaves(liquid, v, scope, `${field}.${k}`);
    return out;
  }
  return value;
}

export async function renderWebhook(liquid: LiquidRenderer, request: WebhookRequest, scope: LiquidScope): Promise<{ method: string; url: string; headers: Record<string, string>; body: string | null; timeoutMs: number }> {
  const url = (await render(liquid, request.url, scope, "url")).trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EffectRenderFailed(`url: "${url.slice(0, 200)}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new EffectRenderFailed(`url: "${url.slice(0, 200)}" is not http(s)`);
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(request.headers)) {
    const value = await render(liquid, template, scope, `headers.${name}`);
    if (/[\r\n\0]/.test(value)) throw new EffectRenderFailed(`headers.${name}: the rendered value holds a line break`);
    headers[name] = value;
  }
  let body: string | null = null;
  if (typeof request.body === "string") body = await render(liquid, request.body, scope, "body");
  else if (request.body !== null) {
    body = JSON.stringify(await renderLeaves(liquid, request.body, scope, "body"));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
  }
  return { method: request.method, url: parsed.toString(), headers, body, timeoutMs: request.timeoutMs };
}
