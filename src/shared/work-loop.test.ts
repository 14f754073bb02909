// The work loop gives the event loop a turn between pieces of work (next-turn.ts says why): a
// pass with much due must not hold the thread from the process's requests until it is through.
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "./logger.js";
import { WorkLoop } from "./work-loop.js";

test("a pass with ten pieces due lets a turn of the event loop come after the first", async () => {
  let pieces = 0;
  let piecesBeforeATurn: number | null = null;
  let passDone!: () => void;
  const done = new Promise<void>((resolve) => (passDone = resolve));
  const loop = new WorkLoop({
    // Resolves at once, as a transaction on SQLite does: without a yield the pass never lets the event loop turn.
    runOnce: async () => {
      pieces += 1;
      if (pieces === 1) setImmediate(() => (piecesBeforeATurn = pieces));
      if (pieces === 10) passDone();
      return pieces < 10;
    },
    pollMs: 60_000,
    logger: silentLogger(),
    what: "test work",
  });
  loop.start();
  await done;
  await loop.stop();
  assert.ok(piecesBeforeATurn !== null && piecesBeforeATurn <= 2, `a turn came after ${piecesBeforeATurn} of ${pieces} pieces`);
});
