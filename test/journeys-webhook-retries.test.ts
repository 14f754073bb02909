// Webhook steps that do not give up, in the journey runtime against SQLite (and PostgreSQL when
// TEST_DATABASE_URL is set) and a real HTTP receiver on loopback: a transient failure (no answer,
// 408, 429, 5xx) leaves the run waiting in its step, due at its next attempt, with the attempts in
// its stored wait; the clock the test moves brings each attempt. Retry-After is honoured; another
// 4xx fails at once; the last failed attempt fails the step and the run goes on past it.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { storeTargets } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";
import { journeyWorld, identify, track, type JourneyWorld } from "./support/journeys-world.js";
import type { Store } from "../src/store/store.js";

const BACKOFF_MS = 10_000;

/** A receiver whose answers per path are scripted: a list consumed in turn, the last repeated. */
interface Script {
  status: number;
  headers?: Record<string, string>;
  /** Close the connection without an answer. */
  hangUp?: boolean;
}

for (const target of storeTargets()) {
  describe(`journey webhook retries (${target.name})`, () => {
    let store: Store;
    let world: JourneyWorld;
    let receiver: http.Server;
    let base: string;
    const clock = new MovableClock();
    const scripts = new Map<string, Script[]>();
    const seen: Array<{ path: string; key: string | undefined; at: number; status: number | null }> = [];

    before(async () => {
      store = await target.open();
      world = await journeyWorld(store, clock, { webhookRetry: { attempts: 5, backoffMs: BACKOFF_MS } });
      receiver = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          const path = req.url!;
          const list = scripts.get(path) ?? [{ status: 200 }];
          const n = seen.filter((s) => s.path === path).length;
          const answer = list[Math.min(n, list.length - 1)]!;
          seen.push({ path, key: req.headers["idempotency-key"] as string | undefined, at: clock.now(), status: answer.hangUp ? null : answer.status });
          if (answer.hangUp) {
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
          res.end(JSON.stringify({ path, attempt: n + 1 }));
        });
      });
      await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
      base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    });
    after(async () => {
      receiver.close();
      await world.close();
      await store.close();
    });

    const callsTo = (path: string) => seen.filter((s) => s.path === path);
    const runsIn = async (id: string, journeyId: string) => (await world.journeys.runsOf(world.workspaceId, await world.personId(id), { limit: 10, cursor: null })).items.filter((r) => r.journeyId === journeyId);
    const storedWait = async (runId: string) => {
      const row = await store.db.selectFrom("journey_runs").select(["wait_json", "state", "step_id", "due_at"]).where("run_id", "=", runId).executeTakeFirstOrThrow();
      return { ...row, wait: row.wait_json === null ? null : (JSON.parse(row.wait_json) as { attempts?: number; lastError?: string; dueAt: number }), dueAt: row.due_at === null ? null : Number(row.due_at) };
    };

    async function hookJourney(name: string, path: string) {
      return world.journeys.create(
        world.workspaceId,
        {
          name,
          trigger: { event: { name: `${name}_go` } },
          steps: [
            { id: "call", type: "webhook", url: `${base}${path}` },
            {
              id: "b",
              type: "branch",
              if: { data: { field: "steps.call.failed", operator: "exists" } },
              then: [{ id: "down", type: "email", subject: "down {{ steps.call.response.status }}", text: "{{ steps.call.failed }}" }],
              else: [{ id: "up", type: "email", subject: "up {{ steps.call.response.body.attempt }}", text: "x" }],
            },
          ],
        },
        { state: "live" },
      );
    }

    /** Waits for attempt `n` to be made and the run to be stored waiting for the next, and returns that stored wait. */
    async function waitingAfter(runOf: () => Promise<string | undefined>, path: string, n: number) {
      await until(`attempt ${n} of ${path}`, async () => callsTo(path).length >= n, 5_000);
      return until(`the run to wait after attempt ${n}`, async () => {
        const runId = await runOf();
        if (!runId) return undefined;
        const row = await storedWait(runId);
        return row.state === "waiting" && row.wait?.attempts === n ? { runId, ...row } : undefined;
      }, 5_000);
    }

    const mailsOf = (journeyId: string) => world.mailer.sent.filter((s) => s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journeyId);
    const subjectOf = (mail: { content: { kind: string } }) => (mail.content as { subject?: string }).subject;

    test("a receiver that fails twice (503, then no answer) then answers: three attempts with one key, the run waits in its step between them, then goes on once", async () => {
      scripts.set("/flaky", [{ status: 503 }, { status: 0, hangUp: true }, { status: 200 }]);
      const journey = await hookJourney("flaky", "/flaky");
      await world.apply(identify("fay"), track("fay", "flaky_go"));
      const runOf = async () => (await runsIn("fay", journey.journeyId))[0]?.runId;
      const first = await waitingAfter(runOf, "/flaky", 1);
      assert.equal(first.step_id, "call", "the run stays on its step");
      assert.equal(first.wait!.lastError, "HTTP 503");
      const firstDelay = first.dueAt! - callsTo("/flaky")[0]!.at;
      assert.ok(firstDelay >= 0.8 * BACKOFF_MS - 50 && firstDelay <= 1.2 * BACKOFF_MS + 50, `first retry after the backoff ±20 % (${firstDelay} ms)`);
      // Nothing happens before its time: no worker sleeps on it, and the clock has not come.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(callsTo("/flaky").length, 1);
      clock.advance(first.dueAt! - clock.now() + 10);
      const second = await waitingAfter(runOf, "/flaky", 2);
      assert.match(second.wait!.lastError!, /socket hang up|ECONNRESET/);
      const secondDelay = second.dueAt! - callsTo("/flaky")[1]!.at;
      assert.ok(secondDelay >= 1.6 * BACKOFF_MS - 50 && secondDelay <= 2.4 * BACKOFF_MS + 50, `the second retry waits twice as long (${secondDelay} ms)`);
      clock.advance(second.dueAt! - clock.now() + 10);
      await until("the email after the webhook", async () => mailsOf(journey.journeyId).length === 1, 5_000);
      const run = await until("the run to end", async () => (await runsIn("fay", journey.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(subjectOf(mailsOf(journey.journeyId)[0]!.mail), "up {{ steps.call.response.body.attempt }}");
      assert.deepEqual(run.path.map((p) => [p.stepId, p.outcome]), [["call", "status 200"], ["b", "passed"], ["up", "sent"]], "the step is on the path once, with its final outcome");
      const calls = callsTo("/flaky");
      assert.equal(calls.length, 3);
      assert.deepEqual(new Set(calls.map((c) => c.key)), new Set([`${run.runId}:call`]), "every attempt carries the same Idempotency-Key");
      const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
      const call = metrics.steps.find((s) => s.stepId === "call")!;
      assert.deepEqual([call.entered, call.completed, call.failed, call.waiting], [1, 1, 0, 0], "entered once, completed once, never failed");
    });

    test("a receiver that always fails: five attempts about a backoff doubling apart, then the step fails and the run goes on past it", async () => {
      scripts.set("/down", [{ status: 500 }]);
      const journey = await hookJourney("down", "/down");
      await world.apply(identify("dan"), track("dan", "down_go"));
      const runOf = async () => (await runsIn("dan", journey.journeyId))[0]?.runId;
      for (let n = 1; n <= 4; n++) {
        const waiting = await waitingAfter(runOf, "/down", n);
        const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
        assert.equal(metrics.steps.find((s) => s.stepId === "call")!.waiting, 1, "counted as waiting in its step between attempts");
        clock.advance(waiting.dueAt! - clock.now() + 10);
      }
      const run = await until("the run to end", async () => (await runsIn("dan", journey.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(callsTo("/down").length, 5);
      assert.deepEqual(run.path.map((p) => [p.stepId, p.outcome]), [["call", "failed: HTTP 500 (after 5 attempts)"], ["b", "passed"], ["down", "sent"]]);
      await until("the email", async () => mailsOf(journey.journeyId).length === 1);
      const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
      const call = metrics.steps.find((s) => s.stepId === "call")!;
      assert.deepEqual([call.entered, call.completed, call.failed], [1, 1, 1]);
      await new Promise((r) => setTimeout(r, 200));
      clock.advance(10 * BACKOFF_MS * 2 ** 5);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(callsTo("/down").length, 5, "no sixth attempt");
    });

    test("429 with Retry-After waits as long as asked; a 404 fails at once with its answer kept", async () => {
      scripts.set("/busy", [{ status: 429, headers: { "retry-after": "120" } }, { status: 200 }]);
      scripts.set("/gone", [{ status: 404 }]);
      const busy = await hookJourney("busy", "/busy");
      const gone = await hookJourney("gone", "/gone");
      await world.apply(identify("bea"), identify("gil"), track("bea", "busy_go"), track("gil", "gone_go"));
      const waiting = await waitingAfter(async () => (await runsIn("bea", busy.journeyId))[0]?.runId, "/busy", 1);
      const asked = waiting.dueAt! - callsTo("/busy")[0]!.at;
      assert.ok(asked >= 120_000 && asked < 120_000 + 200, `due 120 s after the answer (${asked} ms), not after the ${BACKOFF_MS} ms backoff`);
      const goneRun = await until("the 404 run to end", async () => (await runsIn("gil", gone.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(callsTo("/gone").length, 1, "a 404 is not tried again");
      assert.equal(goneRun.path[0]!.outcome, "failed: HTTP 404");
      await until("the 404 email", async () => mailsOf(gone.journeyId).length === 1);
      const mail = mailsOf(gone.journeyId)[0]!.mail;
      assert.equal(subjectOf(mail), "down {{ steps.call.response.status }}");
      assert.deepEqual((mail.scope as { steps: Record<string, unknown> }).steps.call, { failed: "HTTP 404", response: { status: 404, body: { path: "/gone", attempt: 1 } } }, "the failed step keeps its answer for Liquid and branches");
      clock.advance(asked + 10);
      await until("the Retry-After run to end", async () => (await runsIn("bea", busy.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(callsTo("/busy").length, 2);
    });
  });
}
