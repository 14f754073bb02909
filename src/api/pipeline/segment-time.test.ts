import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { eventTime, parseSegmentTime } from "./segment-time.js";

const RECEIVED = Date.parse("2026-12-05T12:00:00.000Z");

describe("parseSegmentTime", () => {
  it("reads ISO-8601 with a zone, with or without milliseconds", () => {
    assert.equal(parseSegmentTime("2026-12-05T11:59:00.250Z"), Date.parse("2026-12-05T11:59:00.250Z"));
    assert.equal(parseSegmentTime("2026-12-05T13:59:00+02:00"), Date.parse("2026-12-05T11:59:00Z"));
  });

  it("takes a Date as the libraries build it before JSON", () => {
    assert.equal(parseSegmentTime(new Date(RECEIVED)), RECEIVED);
  });

  it("refuses what is not an ISO date: numbers, prose, impossible days, empty text", () => {
    for (const value of [1733400000, "Dec 5 2026", "2026-13-45T00:00:00Z", "", "   ", null, undefined, {}, new Date(NaN)]) {
      assert.equal(parseSegmentTime(value), null, String(value));
    }
  });
});

describe("eventTime corrects the sender's clock skew as Segment documents", () => {
  it("timestamp = received - (sentAt - originalTimestamp)", () => {
    // The sender's clock is 10 minutes fast; the call was made 3 s before the request left.
    const t = eventTime({ originalTimestamp: "2026-12-05T12:09:57Z", sentAt: "2026-12-05T12:10:00Z" }, undefined, RECEIVED);
    assert.equal(t, RECEIVED - 3000);
  });

  it("reads the sender's time from timestamp when there is no originalTimestamp (server libraries)", () => {
    const t = eventTime({ timestamp: "2026-12-05T11:50:00Z" }, "2026-12-05T11:51:00Z", RECEIVED);
    assert.equal(t, RECEIVED - 60_000);
  });

  it("prefers the event's own sentAt to the batch's", () => {
    const t = eventTime({ timestamp: "2026-12-05T11:50:00Z", sentAt: "2026-12-05T11:50:30Z" }, "2026-12-05T11:59:00Z", RECEIVED);
    assert.equal(t, RECEIVED - 30_000);
  });

  it("keeps historical imports in their place: the skew, not the age, is removed", () => {
    const t = eventTime({ timestamp: "2020-01-01T00:00:00Z" }, new Date(RECEIVED + 5000).toISOString(), RECEIVED);
    assert.equal(t, Date.parse("2020-01-01T00:00:00Z") - 5000);
  });

  it("without sentAt the sender's time stands; without any time, null (the time received)", () => {
    assert.equal(eventTime({ timestamp: "2026-12-05T11:00:00Z" }, undefined, RECEIVED), Date.parse("2026-12-05T11:00:00Z"));
    assert.equal(eventTime({}, "2026-12-05T11:00:00Z", RECEIVED), null);
    assert.equal(eventTime({ timestamp: "yesterday" }, undefined, RECEIVED), null);
  });

  it("an unreadable sentAt is ignored, not applied", () => {
    assert.equal(eventTime({ timestamp: "2026-12-05T11:00:00Z", sentAt: "soon" }, undefined, RECEIVED), Date.parse("2026-12-05T11:00:00Z"));
  });
});
