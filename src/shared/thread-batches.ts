// Messages between threads, sent in batches: whatever one side posts during one turn of its event
// loop goes over as one array in one postMessage. Each postMessage wakes the other thread, and on
// a busy machine that wake, not the copy, is the cost: one per message each way was 8% of the
// main thread's time under relay load. A batch costs one wake for all the sessions a turn served,
// and keeps the order the messages were posted in.

/** A poster that gathers messages and sends them with `post` once the current turn is done. */
export function batchPoster<T>(post: (batch: T[]) => void): (message: T) => void {
  let queued: T[] = [];
  return (message) => {
    if (queued.push(message) > 1) return;
    setImmediate(() => {
      const batch = queued;
      queued = [];
      post(batch);
    });
  };
}
