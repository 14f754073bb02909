#!/usr/bin/env node
// Run after npm run build: node scripts/measure-tracking-off.mjs
// Acceptance with tracking off: the cost the two new steps add. Batches of 500 API messages, each
// with an HTML and text body, accepted through the real AcceptService on SQLite, with and without
// the tracking and unsubscribe steps in the list; steps timed alone as well.
import { mkdtempSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
const D = new URL("../dist/src", import.meta.url).pathname;
const { loadConfig } = await import(`${D}/config/config.schema.js`);
const { silentLogger } = await import(`${D}/shared/logger.js`);
const { openStore } = await import(`${D}/store/store.js`);
const { buildContainer } = await import(`${D}/app/container.js`);
const { AcceptService } = await import(`${D}/messages/accept/accept.service.js`);
const { validateStep } = await import(`${D}/messages/accept/validate.step.js`);
const { suppressStep } = await import(`${D}/messages/accept/suppress.step.js`);
const { composeStep } = await import(`${D}/compose/compose.step.js`);
const { trackingStep } = await import(`${D}/compose/tracking.step.js`);
const { unsubscribeStep } = await import(`${D}/compose/unsubscribe.step.js`);
const { TrackingSettings } = await import(`${D}/tracking/tracking-settings.js`);
const { MessagesRepository } = await import(`${D}/messages/messages.repository.js`);
const { structuredSubmission } = await import(`${D}/messages/accept/submission.js`);
const { systemClock } = await import(`${D}/shared/clock.js`);

const dataDir = mkdtempSync(join(tmpdir(), "trk-bench-"));
const config = loadConfig({ POSTHORN_DATA_DIR: dataDir, POSTHORN_HOSTNAME: "bench.test", LOG_LEVEL: "silent" });
const store = openStore({ dialect: "sqlite", dataDir, ...config });
await store.migrate();
const c = buildContainer(store, config, silentLogger());
const { workspace } = await c.workspaces.create("bench", { sandbox: true });
const settings = new TrackingSettings({ store, clock: systemClock });
const base = [validateStep({ workspaces: c.workspaces }), suppressStep({ store, suppressions: c.suppressions }), composeStep({ hostname: "bench.test", now: () => Date.now() })];
const extra = [trackingStep({ settings, tracking: c.tracking }), unsubscribeStep({ settings, tracking: c.tracking })];
const make = (steps) => new AcceptService({ store, clock: systemClock, messages: new MessagesRepository(), outbox: c.outbox, steps, failureNoticesByDefault: false });
const without = make(base), withSteps = make([...base, ...extra]);
const html = "<html><body>" + "<p>Hello <a href=\"https://example.com/x\">there</a> lorem ipsum dolor sit amet.</p>".repeat(20) + "</body></html>";
const msg = (i) => structuredSubmission({ from: { email: "a@bench.test", name: "" }, to: [{ email: `r${i}@example.com`, name: "" }], cc: [], bcc: [], replyTo: [], subject: "s", htmlBody: html, textBody: "hello https://example.com/x", tag: null, headers: [], attachments: [], metadata: {}, stream: "outbound", trackOpens: false, trackLinks: "none" });
const batch = Array.from({ length: 500 }, (_, i) => msg(i));
async function run(service, rounds) { const t = process.hrtime.bigint(); for (let r = 0; r < rounds; r++) await service.acceptMany(workspace, batch); return Number(process.hrtime.bigint() - t) / 1e6 / (rounds * 500); }
for (let i = 0; i < 2; i++) { await run(without, 2); await run(withSteps, 2); }
const a = [], b = [];
for (let i = 0; i < 12; i++) { a.push(await run(without, 3)); b.push(await run(withSteps, 3)); }
const med = (x) => x.sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(a.map(x=>x.toFixed(1)).join(" "), "/", b.map(x=>x.toFixed(1)).join(" "));
console.log(`acceptMany, 500 per batch, tracking off: without the steps ${(1000 / med(a)).toFixed(0)} msgs/s (${(med(a) * 1000).toFixed(1)} µs/msg), with them ${(1000 / med(b)).toFixed(0)} msgs/s (${(med(b) * 1000).toFixed(1)} µs/msg)`);
// The steps alone over composed candidates (settings cached).
const cands = batch.map((s, i) => ({ index: i, workspace, submission: s, id: randomUUID(), stream: "outbound", recipients: [{ email: "x@example.com", key: "x@example.com", suppressed: false }], mime: Buffer.from("x"), error: null }));
for (const st of extra) await st.run(cands);
const t = process.hrtime.bigint(); for (let r = 0; r < 200; r++) for (const st of extra) await st.run(cands);
console.log(`the two steps alone, tracking off: ${(Number(process.hrtime.bigint() - t) / 1e3 / (200 * 500)).toFixed(3)} µs per message`);
await store.close();
rmSync(dataDir, { recursive: true, force: true });
