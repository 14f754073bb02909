import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PipelineCounts } from "./pipeline-counts.js";

describe("PipelineCounts", () => {
  it("counts accepted and skipped events, skipped ones by the domain's code or the edge's reason", () => {
    const counts = new PipelineCounts();
    counts.record(3, [
      { index: 0, reason: "PEOPLE_EVENT_NAME_TOO_LARGE (name): An event name is longer than 100 bytes." },
      { index: 1, reason: "PEOPLE_EVENT_NAME_TOO_LARGE: again" },
      { index: 2, reason: "track needs an event name" },
    ]);
    counts.refused(4);
    assert.deepEqual(counts.snapshot(), { accepted: 3, skipped: 3, refused: 4, byReason: { PEOPLE_EVENT_NAME_TOO_LARGE: 2, "track needs an event name": 1 } });
  });

  it("keeps at most 100 kinds of reason apart, the rest as other (reasons quote sender input)", () => {
    const counts = new PipelineCounts();
    counts.record(0, Array.from({ length: 150 }, (_, i) => ({ index: i, reason: `odd reason ${i}` })));
    const { byReason, skipped } = counts.snapshot();
    assert.equal(skipped, 150);
    assert.equal(Object.keys(byReason).length, 101);
    assert.equal(byReason.other, 50);
  });
});
