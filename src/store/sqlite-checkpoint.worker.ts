// Runs in a worker thread: copies the SQLite write-ahead log back into the database file
// (a checkpoint) on its own connection, so that the copy and its fsync never block the main
// thread's event loop. PASSIVE checkpoints do not wait for or block writers.
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new SQLite(file);
db.pragma("busy_timeout = 1000");
db.pragma("synchronous = FULL");

const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A busy database or a transient I/O error: the next tick tries again, and the main
    // connection's own auto-checkpoint threshold is the backstop.
  }
}, intervalMs);

parentPort!.on("message", (message: string) => {
  if (message !== "stop") return;
  clearInterval(timer);
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } finally {
    db.close();
    parentPort!.postMessage("stopped");
  }
});
