// `posthorn journeys test` as an author uses it: a journey file and an events file in, each
// person's path and the emails that would be sent out, as a child process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN_JS, tempDir } from "./support/server.js";

function posthorn(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", POSTHORN_DATA_DIR: join(cwd, "data") }, encoding: "utf8", cwd }, (err, stdout, stderr) => {
      resolvePromise({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const CART = `
name: Abandoned cart
trigger:
  event: { name: cart_updated, where: [{ field: total, operator: gt, value: 0 }] }
reentry: always
goal: { event: { name: purchase }, within: 7d }
defaults: { from: "shop@example.com" }
steps:
  - id: wait_checkout
    type: wait_until
    event: { name: checkout, match: { cart_id: "{{ trigger.cart_id }}" } }
    timeout: 1h
    then:
      - { id: done, type: exit }
    on_timeout:
      - { id: window, type: time_window, days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00", timezone: person, fallback: Europe/Berlin }
      - id: reminder
        type: email
        subject: "You left {{ trigger.item_count }} items behind, {{ customer.first_name | default: 'friend' }}"
        text: "Your cart {{ trigger.cart_id }} is waiting."
      - { id: pause, type: delay, duration: 3d }
      - id: opened
        type: branch
        if: { message: { step: reminder, status: opened } }
        then:
          - { id: again, type: email, template: cart-reminder-2, model: { cart: "{{ trigger.cart_id }}" } }
`;

const EVENTS = {
  start: "2026-01-05T08:00:00Z",
  events: [
    { kind: "identify", person: "u1", attributes: { email: "ann@example.com", first_name: "Ann", timezone: "Europe/Berlin" } },
    { kind: "identify", person: "u2", attributes: { email: "bob@example.com", timezone: "America/New_York" } },
    { kind: "event", person: "u1", name: "cart_updated", data: { cart_id: "A", total: 30, item_count: 2 } },
    { kind: "event", person: "u1", after: "10m", name: "cart_updated", data: { cart_id: "B", total: 12, item_count: 1 } },
    { kind: "event", person: "u1", after: "5m", name: "cart_updated", data: { cart_id: "Z", total: 0 } },
    { kind: "event", person: "u1", at: "2026-01-05T08:30:00Z", name: "checkout", data: { cart_id: "A" } },
    { kind: "event", person: "u2", at: "2026-01-05T12:00:00Z", name: "cart_updated", data: { cart_id: "C", total: 99, item_count: 4 } },
    { kind: "message", person: "u2", at: "2026-01-06T10:00:00Z", step: "reminder", status: "opened" },
  ],
};

test("an abandoned cart journey: one keyed wait satisfied by its own checkout, the others timed out into reminders", async () => {
  const dir = tempDir("posthorn-journeys-");
  try {
    writeFileSync(join(dir.path, "cart.yaml"), CART);
    writeFileSync(join(dir.path, "events.json"), JSON.stringify(EVENTS));
    const [json, text] = await Promise.all([posthorn(["journeys", "test", "cart.yaml", "--events", "events.json", "--json"], dir.path), posthorn(["journeys", "test", "cart.yaml", "--events", "events.json"], dir.path)]);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as {
      runs: Array<{ person: string; path: Array<{ step: string; at: string }>; messages: Array<{ step: string; to: string; subject: string; excerpt: string; at: string }>; end: { reason: string; at: string } | null }>;
      totals: Record<string, number>;
    };
    // Cart Z (total 0) does not pass the trigger's property test: three runs.
    assert.equal(result.runs.length, 3);
    const [cartA, cartB, cartC] = result.runs;
    assert.deepEqual(cartA!.path, [
      { step: "wait_checkout", at: "2026-01-05T08:00:00Z" },
      { step: "done", at: "2026-01-05T08:30:00Z" },
    ]);
    assert.deepEqual(cartA!.end, { reason: "exited", at: "2026-01-05T08:30:00Z", cause: "exit step done" });
    assert.deepEqual(cartA!.messages, []);

    // Cart B times out at 09:10Z, 10:10 in Berlin on a Monday: inside the window, the reminder goes at once.
    assert.deepEqual(
      cartB!.path.map((p) => `${p.step}@${p.at}`),
      ["wait_checkout@2026-01-05T08:10:00Z", "window@2026-01-05T09:10:00Z", "reminder@2026-01-05T09:10:00Z", "pause@2026-01-05T09:10:00Z", "opened@2026-01-08T09:10:00Z"],
    );
    assert.deepEqual(
      cartB!.messages.map((m) => [m.step, m.to, m.subject, m.excerpt]),
      [["reminder", "ann@example.com", "You left 1 items behind, Ann", "Your cart B is waiting."]],
    );
    assert.equal(cartB!.end?.reason, "completed");

    // Cart C times out at 13:00Z, 08:00 in New York: the window holds the reminder until 09:00 there (14:00Z);
    // the reminder was opened, so the second email follows the pause.
    assert.deepEqual(
      cartC!.path.map((p) => `${p.step}@${p.at}`),
      ["wait_checkout@2026-01-05T12:00:00Z", "window@2026-01-05T13:00:00Z", "reminder@2026-01-05T14:00:00Z", "pause@2026-01-05T14:00:00Z", "opened@2026-01-08T14:00:00Z", "again@2026-01-08T14:00:00Z"],
    );
    assert.deepEqual(
      cartC!.messages.map((m) => [m.step, m.to, m.subject]),
      [
        ["reminder", "bob@example.com", "You left 4 items behind, friend"],
        ["again", "bob@example.com", "(stored template cart-reminder-2)"],
      ],
    );
    assert.deepEqual(result.totals, { people: 2, entered: 3, completed: 2, exited: 1, converted: 0, waiting: 0, messages: 3, skipped: 0, webhooks: 0 });

    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Journey "Abandoned cart", simulated from 2026-01-05T08:00:00Z/);
    assert.match(text.stdout, /u1 \(run-2\) entered 2026-01-05T08:10:00Z\n {2}2026-01-05T08:10:00Z {2}wait_checkout\n/);
    assert.match(text.stdout, /email reminder to bob@example.com: "You left 4 items behind, friend" — Your cart C is waiting\./);
    assert.match(text.stdout, /2 people, 3 runs: 2 completed, 1 exited, 0 converted, 0 still waiting; 3 emails, 0 not sent, 0 webhooks\n$/);
  } finally {
    dir.remove();
  }
});

test("an --until before the timers leaves runs waiting and says where", async () => {
  const dir = tempDir("posthorn-journeys-");
  try {
    writeFileSync(join(dir.path, "cart.yaml"), CART);
    writeFileSync(join(dir.path, "events.json"), JSON.stringify(EVENTS));
    const r = await posthorn(["journeys", "test", "cart.yaml", "--events", "events.json", "--json", "--until", "2026-01-05T13:30:00Z"], dir.path);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { runs: Array<{ waiting: { step: string; until: string | null } | null }>; totals: Record<string, number> };
    assert.deepEqual(result.runs[1]!.waiting, { step: "pause", until: "2026-01-08T09:10:00Z" });
    assert.deepEqual(result.runs[2]!.waiting, { step: "window", until: "2026-01-05T14:00:00Z" });
    assert.equal(result.totals.waiting, 2);
  } finally {
    dir.remove();
  }
});

test("an invalid journey, a bad events file or a missing file fails with the field that is wrong", async () => {
  const dir = tempDir("posthorn-journeys-");
  try {
    writeFileSync(join(dir.path, "bad.yaml"), CART.replace("duration: 3d", "duration: three days"));
    writeFileSync(join(dir.path, "cart.yaml"), CART);
    writeFileSync(join(dir.path, "events.json"), JSON.stringify(EVENTS));
    writeFileSync(join(dir.path, "unordered.json"), JSON.stringify({ events: [{ ...EVENTS.events[2], at: "2026-01-05T08:00:00Z" }, { ...EVENTS.events[5], at: "2026-01-04T00:00:00Z" }] }));
    writeFileSync(join(dir.path, "badkind.json"), JSON.stringify([{ kind: "teleport", at: 1767600000, person: "u1" }]));
    const [bad, unordered, badKind, missing, usage] = await Promise.all([
      posthorn(["journeys", "test", "bad.yaml", "--events", "events.json"], dir.path),
      posthorn(["journeys", "test", "cart.yaml", "--events", "unordered.json"], dir.path),
      posthorn(["journeys", "test", "cart.yaml", "--events", "badkind.json"], dir.path),
      posthorn(["journeys", "test", "nope.yaml", "--events", "events.json"], dir.path),
      posthorn(["journeys", "test", "cart.yaml"], dir.path),
    ]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, 'posthorn: steps[0].on_timeout[2].duration: must be a duration such as "90s", "15m", "12h", "3d" or "2w"\n');
    assert.equal(unordered.code, 1);
    assert.equal(unordered.stderr, "posthorn: events[1].at: entries must be in time order\n");
    assert.equal(badKind.code, 1);
    assert.match(badKind.stderr, /^posthorn: events\[0\]\.kind: must be one of identify, event/);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the journey file nope\.yaml: ENOENT/);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /journeys test FILE --events EVENTS\.json/);
  } finally {
    dir.remove();
  }
});
