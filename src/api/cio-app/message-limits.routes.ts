// Posthorn's extension to the App API: the workspace's message limits (frequency caps across every
// journey and broadcast) and quiet hours, GET/PUT /v1/message_limits:
//   {caps: [{count: 3, period: "7d"}], quiet_hours: {from: "21:00", to: "08:00", fallback_timezone: "Europe/Berlin"} | null}
// Periods are a whole number and a unit: m (minutes), h, d, w.
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { MessageLimits, MessageLimitsSettings } from "../../channels/email/outreach.port.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppRequestInvalid } from "./app-api.errors.js";
import { isObject } from "./app-api.params.js";

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export function messageLimitsRoutes(deps: { messageLimits: MessageLimitsSettings }): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get("/message_limits", async (request) => limitsJson(await deps.messageLimits.get(appWorkspace(request).id)));
    app.put("/message_limits", { bodyLimit: 16 * 1024 }, async (request) => limitsJson(await deps.messageLimits.set(appWorkspace(request).id, limitsOf(request.body))));
  };
}

function limitsOf(body: unknown): MessageLimits {
  if (!isObject(body)) throw AppRequestInvalid("The body must be a JSON object.", { field: null });
  const caps = body.caps ?? [];
  if (!Array.isArray(caps)) throw AppRequestInvalid("caps must be a list of {count, period}.", { field: "caps" });
  const q = body.quiet_hours;
  if (q !== undefined && q !== null && !isObject(q)) throw AppRequestInvalid("quiet_hours must be {from, to, fallback_timezone} or null.", { field: "quiet_hours" });
  return {
    caps: caps.map((cap: unknown, i) => {
      if (!isObject(cap)) throw AppRequestInvalid(`caps[${i}] must be {count, period}.`, { field: `caps[${i}]` });
      if (typeof cap.count !== "number") throw AppRequestInvalid(`caps[${i}].count must be a number.`, { field: `caps[${i}].count` });
      return { count: cap.count, periodMs: periodOf(cap.period, `caps[${i}].period`) };
    }),
    quietHours: isObject(q) ? { fromMinute: minuteOf(q.from, "quiet_hours.from"), toMinute: minuteOf(q.to, "quiet_hours.to"), fallbackTimezone: typeof q.fallback_timezone === "string" ? q.fallback_timezone : "UTC" } : null,
  };
}

function periodOf(value: unknown, field: string): number {
  const m = typeof value === "string" ? /^([1-9][0-9]{0,5})([mhdw])$/.exec(value) : null;
  if (!m) throw AppRequestInvalid(`${field} must be a number and a unit: m, h, d or w ("7d").`, { field });
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

function minuteOf(value: unknown, field: string): number {
  const m = typeof value === "string" ? /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(value) : null;
  if (!m) throw AppRequestInvalid(`${field} must be a time of day, HH:MM.`, { field });
  return Number(m[1]) * 60 + Number(m[2]);
}

function limitsJson(limits: MessageLimits) {
  const q = limits.quietHours;
  return {
    caps: limits.caps.map((c) => ({ count: c.count, period: periodText(c.periodMs) })),
    quiet_hours: q ? { from: clock(q.fromMinute), to: clock(q.toMinute), fallback_timezone: q.fallbackTimezone } : null,
  };
}

function periodText(ms: number): string {
  for (const unit of ["w", "d", "h", "m"]) if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${Math.round(ms / 60_000)}m`;
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}
