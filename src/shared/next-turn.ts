// A background loop that has more work at once (a consumer's full batch, a work loop's next
// piece) waits for the event loop's next turn before taking it. On SQLite every query of a
// transaction resolves as a microtask, so a loop that went straight on never gave the event loop
// a turn: a worker catching up on a backlog held the thread for a second and more at a time, and
// the API requests and ingest of the same process waited for it (bench:segments, ingest beside
// the worker role: 169 events/s). One turn costs a few microseconds.

/** Resolves on the event loop's next turn, after the I/O callbacks already waiting. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
