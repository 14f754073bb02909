// A child process for the people crash test: ingests events through the real PeopleService on
// the SQLite database in argv[2] (workspace argv[3]) from many concurrent callers, and prints each
// event's key on stdout once apply() has resolved, that is once it is acknowledged. The parent
// kills it with SIGKILL mid-way and checks that every printed key is stored.
import { openStore } from "../../src/store/store.js";
import { systemClock } from "../../src/shared/clock.js";
import type { PersonOperation } from "../../src/people/people.port.js";
import { peopleServiceFor } from "../../src/people/testing/people-service.js";


const [dataDir, workspaceId] = process.argv.slice(2) as [string, string];
const store = openStore({ dataDir, databaseUrl: null });
const people = peopleServiceFor(store, systemClock);

const CALLERS = 32;
let next = 0;
const event = (n: number): PersonOperation => ({ op: "track", who: { kind: "id", value: `user${n % 50}` }, event: { name: "crash", type: "event", dedupeKey: `key-${n}`, timestamp: null, data: { n } } });

async function caller(): Promise<void> {
  for (;;) {
    const n = next++;
    // Batches of ten every tenth call, single events otherwise: both paths are under the kill.
    const ops = n % 10 === 0 ? Array.from({ length: 10 }, (_, i) => event(1_000_000 + n * 10 + i)) : [event(n)];
    const results = await people.apply(workspaceId, ops);
    if (results.every((r) => r.ok)) process.stdout.write(ops.map((o) => (o.op === "track" ? `${o.event.dedupeKey}\n` : "")).join(""));
  }
}

process.stdout.write("ready\n");
await Promise.all(Array.from({ length: CALLERS }, caller));
