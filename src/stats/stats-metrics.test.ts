// What each event adds to the rollups, as a table.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ReaderData, RecordedEvent } from "../events/event-map.js";
import { incrementsOf, METRICS, MAX_DIMENSION_LENGTH } from "./stats-metrics.js";

const reader = (family: string, platform: ReaderData["platform"] = "desktop"): ReaderData => ({
  userAgent: "ua", client: { name: family, company: "", family }, os: { name: "", company: "", family: "" }, platform, ip: null, geo: null, proxied: false,
});
const event = (type: string, data: object) => ({ id: 1, createdAt: 0, workspaceId: "w", messageId: "m", recipient: "r@x.test", type, data }) as unknown as RecordedEvent;
const added = (e: RecordedEvent) => incrementsOf(e).map((i) => (i.dimension ? `${i.metric}:${i.dimension}` : i.metric)).sort();

test("each counted event adds its metrics", () => {
  const cases: Array<[RecordedEvent, string[]]> = [
    [event("message.accepted", { stream: "s", recipients: 2, tag: null, sandboxed: false }), [METRICS.accepted]],
    [event("message.accepted", { stream: "s", recipients: 1, tag: null, sandboxed: true, trackOpens: false, trackLinks: "none" }), [METRICS.accepted]],
    [event("message.accepted", { stream: "s", recipients: 1, tag: null, sandboxed: false, trackOpens: true, trackLinks: "html-only" }), [METRICS.accepted, METRICS.tracked, METRICS.withLinkTracking, METRICS.withOpenTracking].sort()],
    [event("message.accepted", { stream: "s", recipients: 1, tag: null, sandboxed: false, trackLinks: "text-only" }), [METRICS.accepted, METRICS.tracked, METRICS.withLinkTracking].sort()],
    [event("bounce.recorded", { bounceId: 1, bounceType: "SoftBounce", stream: "s", cause: 1 }), [`${METRICS.bounced}:SoftBounce`, `${METRICS.bouncedByDomain}:x.test`].sort()],
    [event("complaint.recorded", { bounceId: 1, stream: "s", cause: 1 }), [METRICS.complained]],
    [event("delivery.opened", { ...reader("Outlook", "mobile"), stream: "s", firstOpen: true }), [METRICS.opened, `${METRICS.openClient}:Outlook`, METRICS.openedFirst, `${METRICS.openPlatform}:mobile`].sort()],
    [event("delivery.opened", { ...reader(""), stream: "s", firstOpen: false }), [METRICS.opened, `${METRICS.openClient}:Unknown`, `${METRICS.openPlatform}:desktop`].sort()],
    [event("delivery.clicked", { ...reader("Firefox"), stream: "s", link: "https://x.test", location: "text", firstClick: true }), [METRICS.clicked, `${METRICS.clickBrowser}:Firefox`, METRICS.clickedFirst, `${METRICS.clickLocation}:text`, `${METRICS.clickPlatform}:desktop`].sort()],
    [event("delivery.delivered", { stream: "s" }), [METRICS.delivered, `${METRICS.deliveredByDomain}:x.test`]],
    [{ ...event("delivery.delivered", { stream: "s" }), recipient: null } as RecordedEvent, [METRICS.delivered]],
    [event("delivery.deferred", { stream: "s" }), []],
  ];
  for (const [e, expected] of cases) assert.deepEqual(added(e), expected, e.type);
});

test("a client name from a user agent is cut to a bounded length", () => {
  const [, , client] = incrementsOf(event("delivery.opened", { ...reader("x".repeat(5_000)), stream: "s", firstOpen: false }));
  assert.equal(client!.dimension.length, MAX_DIMENSION_LENGTH);
});
