import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { batchPoster } from "./thread-batches.js";

test("what is posted in one turn crosses as one batch, in order; the next turn makes another", async () => {
  const { port1, port2 } = new MessageChannel();
  const received: number[][] = [];
  const arrived = new Promise<void>((resolve) =>
    port2.on("message", (batch: number[]) => {
      received.push(batch);
      if (received.length === 2) resolve();
    }),
  );
  const post = batchPoster((batch: number[]) => port1.postMessage(batch));
  for (let i = 1; i <= 5; i++) post(i);
  await new Promise((r) => setImmediate(r));
  post(6);
  await arrived;
  port1.close();
  assert.deepEqual(received, [[1, 2, 3, 4, 5], [6]]);
});
