// The legacy webhook fields of Postmark's Server (BounceHookUrl, OpenHookUrl with
// PostFirstOpenOnly, DeliveryHookUrl, ClickHookUrl, IncludeBounceContentInHook), which Postmark
// treats as webhooks of the default outbound stream: here each URL is one webhook of that stream
// with its one trigger (the bounce hook also gets spam complaints, as Postmark's bounce hook
// did), made, changed or (with "") removed by PUT /server and read back by GET /server. Kept apart
// from server.routes.ts, which owns the other Server fields.
import type { WebhooksService } from "../../webhooks/webhooks.service.js";
import type { LegacyHook, WebhookChanges } from "../../webhooks/webhook.record.js";
import { InvalidRequest } from "./postmark.edge-errors.js";

const URL_FIELDS: Array<[field: string, hook: LegacyHook]> = [
  ["BounceHookUrl", "bounce"],
  ["OpenHookUrl", "open"],
  ["DeliveryHookUrl", "delivery"],
  ["ClickHookUrl", "click"],
];

/** The Server fields this module owns (server.routes.ts leaves them to it). */
export const SERVER_HOOK_FIELDS = [...URL_FIELDS.map(([f]) => f), "PostFirstOpenOnly", "IncludeBounceContentInHook"];

export async function serverHooks(webhooks: WebhooksService, workspaceId: string) {
  const [bounce, open, delivery, click] = await Promise.all(URL_FIELDS.map(([, hook]) => webhooks.legacy(workspaceId, hook)));
  return {
    BounceHookUrl: bounce?.url ?? "",
    OpenHookUrl: open?.url ?? "",
    DeliveryHookUrl: delivery?.url ?? "",
    ClickHookUrl: click?.url ?? "",
    PostFirstOpenOnly: open?.triggers.open.firstOpenOnly ?? false,
    IncludeBounceContentInHook: bounce?.triggers.bounce.includeContent ?? false,
  };
}

/**
 * Checks the hook fields a PUT /server names (absent or null: unchanged) and returns what applies
 * them, so that the route checks everything before it changes anything.
 */
export function prepareServerHooks(webhooks: WebhooksService, workspaceId: string, input: Record<string, unknown>): () => Promise<void> {
  const flag = (name: string): boolean | undefined => {
    const value = input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw InvalidRequest(`'${name}' must be true or false.`);
    return value;
  };
  const firstOpenOnly = flag("PostFirstOpenOnly");
  const bounceContent = flag("IncludeBounceContentInHook");
  const urls = URL_FIELDS.map(([field, hook]) => {
    const value = input[field];
    if (value !== undefined && value !== null && typeof value !== "string") throw InvalidRequest(`'${field}' must be a URL or "".`);
    if (typeof value === "string" && value.trim() !== "") webhooks.checkedUrl(value.trim());
    return { hook, url: value as string | undefined | null };
  });
  const triggers: Record<LegacyHook, WebhookChanges["triggers"]> = {
    bounce: { bounce: { enabled: true, includeContent: bounceContent }, complaint: { enabled: true, includeContent: bounceContent } },
    open: { open: { enabled: true, firstOpenOnly } },
    delivery: { delivery: { enabled: true } },
    click: { click: { enabled: true } },
  };
  return async () => {
    for (const { hook, url } of urls) {
      if (typeof url === "string") await webhooks.setLegacy(workspaceId, hook, url.trim(), withoutUndefined(triggers[hook]));
    }
    // A flag sent without its URL changes the hook that is there.
    const flagOnly: Array<[LegacyHook, boolean | undefined]> = [["open", firstOpenOnly], ["bounce", bounceContent]];
    for (const [hook, value] of flagOnly) {
      if (value === undefined || typeof input[URL_FIELDS.find(([, h]) => h === hook)![0]] === "string") continue;
      const existing = await webhooks.legacy(workspaceId, hook);
      if (existing) await webhooks.update(workspaceId, existing.id, { triggers: withoutUndefined(triggers[hook]) });
    }
  };
}

/** Trigger changes without the flags left unset (an unset flag keeps its value). */
function withoutUndefined(triggers: WebhookChanges["triggers"]): WebhookChanges["triggers"] {
  return JSON.parse(JSON.stringify(triggers)) as WebhookChanges["triggers"];
}
