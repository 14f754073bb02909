// The From rule's cost per message in its steady state (every address remembered): the sender
// step over candidates as acceptance hands them over, rule on against rule off. Prints one line per
// batch size. Run: npm run build && node dist/bench/from-rule.cost.js
import { openTempSqlite } from "../test/support/stores.js";
import { SenderStanding } from "../src/senders/from-authority.js";
import { SendersRepository } from "../src/senders/senders.repository.js";
import { senderStep } from "../src/messages/accept/sender.step.js";
import type { AcceptStep } from "../src/messages/accept/accept.step.js";
import type { Candidate } from "../src/messages/accept/candidate.js";

const store = await openTempSqlite();
const standing = new SenderStanding({ store, clock: { now: () => Date.now() }, repository: new SendersRepository(), verifiedDomains: async (names) => new Set(names) });
const on = senderStep({ enabled: true, authority: standing });
const off = senderStep({ enabled: false, authority: standing });
const candidate = () =>
  ({ index: 0, workspace: { id: "w", name: "w", sandbox: false, createdAt: 0 }, submission: {}, id: "m", view: { from: { email: "app@bench.test", name: "" } }, stream: "outbound", recipients: [], mime: null, error: null }) as unknown as Candidate;

async function nsPerMessage(step: AcceptStep, calls: number, batch: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await step.run(Array.from({ length: batch }, candidate));
  return Number(process.hrtime.bigint() - started) / (calls * batch);
}

for (const batch of [1, 500]) {
  const calls = batch === 1 ? 200_000 : 400;
  await nsPerMessage(on, calls / 10, batch); // warm up, and fill the memory
  await nsPerMessage(off, calls / 10, batch);
  const without = await nsPerMessage(off, calls, batch);
  const withRule = await nsPerMessage(on, calls, batch);
  console.log(`from rule, batches of ${batch}: ${(withRule - without).toFixed(0)} ns per message (${withRule.toFixed(0)} with the rule, ${without.toFixed(0)} without)`);
}
await store.close();
