// The App API's journey calls (Posthorn's extension), on SQLite and PostgreSQL: journeys defined as
// JSON or YAML, read back with their source, listed, versioned by PUT, started and stopped, runs
// moved to the current version, metrics, and where a person is in each journey; bad documents
// answer 400 with errors[{reason, field, message}] naming the document's path; another workspace's
// key sees none of it.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { appApi, until, type AppApi } from "./support/segments.js";
import { serverDatabases } from "./support/stores.js";

const doc = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  description: "welcome series",
  trigger: { broadcast: {} },
  reentry: "always",
  defaults: { from: "hello@shop.test" },
  steps: [
    { id: "pause", type: "delay", duration: "1d" },
    { id: "hello", type: "email", subject: "Hi {{ customer.first_name }}", text: "Welcome" },
  ],
  ...extra,
});

const yaml = `name: From YAML
trigger:
  broadcast: {}
steps:
  - id: pause
    type: delay
    duration: 2d
`;

for (const database of serverDatabases()) {
  describe(`[${database.name}] journeys through the App API`, () => {
    let server: TestServer;
    let api: AppApi;
    let other: AppApi;
    let appKey: string;
    let workspaceId: string;
    let drop: () => Promise<void>;

    before(async () => {
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer({ ...db.env });
      await server.createWorkspace("shop");
      await server.createWorkspace("rival");
      workspaceId = (await server.app.services.workspaces.get("shop")).id;
      appKey = await server.app.services.workspaces.createAppKey("shop");
      api = appApi(server.url, appKey);
      other = appApi(server.url, await server.app.services.workspaces.createAppKey("rival"));
      const [r] = await server.app.services.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: "j-a" }, attributes: { first_name: "Ada" }, alsoKnownAs: [{ kind: "email", value: "j-a@example.test" }] }], { atomic: true });
      assert.ok(r!.ok);
    });
    after(async () => {
      await server.close();
      await drop();
    });

    const yamlPost = (path: string, method: string, body: string) =>
      fetch(`${server.url}/v1${path}`, { method, headers: { authorization: `Bearer ${appKey}`, "content-type": "application/yaml" }, body });

    test("a journey defined as JSON and one as YAML are read back with their source and listed", async () => {
      const created = await api.call("POST", "/journeys", doc("Welcome"));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const j = created.body.journey as Record<string, unknown>;
      assert.equal(typeof j.id, "number");
      assert.equal(j.name, "Welcome");
      assert.equal(j.description, "welcome series");
      assert.equal(j.state, "draft");
      assert.equal(j.version, 1);
      assert.equal(j.trigger, "broadcast");
      assert.equal(j.origin, "api");
      assert.deepEqual(JSON.parse(String(j.source)), doc("Welcome"));
      const fromYaml = await yamlPost("/journeys?state=live", "POST", yaml);
      assert.equal(fromYaml.status, 200);
      const y = ((await fromYaml.json()) as { journey: Record<string, unknown> }).journey;
      assert.equal(y.name, "From YAML");
      assert.equal(y.state, "live");
      assert.equal(y.source, yaml);
      const got = await api.call("GET", `/journeys/${y.id}`);
      assert.equal((got.body.journey as Record<string, unknown>).source, yaml);
      const names = ((await api.call("GET", "/journeys")).body.journeys as Array<{ name: string }>).map((x) => x.name);
      assert.ok(names.includes("Welcome") && names.includes("From YAML"), names.join());
    });

    test("live, triggered, edited (a new version), runs moved, metrics, and the person's runs", async () => {
      const created = await api.call("POST", "/journeys", doc("Versions"));
      const id = (created.body.journey as { id: number }).id;
      const live = await api.call("POST", `/journeys/${id}/state`, { state: "live" });
      assert.equal(live.status, 200, JSON.stringify(live.body));
      assert.equal((live.body.journey as { state: string }).state, "live");
      const trigger = await api.call("POST", `/campaigns/${id}/triggers`, { data: { source: "test" }, ids: ["j-a"] });
      assert.equal(trigger.status, 200, JSON.stringify(trigger.body));
      const runs = await until("the run waits in the delay", async () => {
        const r = await api.call("GET", "/customers/j-a/journeys");
        const mine = (r.body.runs as Array<Record<string, unknown>>).filter((x) => x.journey_id === id);
        return mine.length === 1 && mine[0]!.step === "pause" ? mine : false;
      }, 10_000);
      assert.equal(runs[0]!.version, 1);
      assert.notEqual(runs[0]!.state, "ended");
      assert.equal(typeof runs[0]!.due_at, "number");
      assert.ok(Array.isArray(runs[0]!.path));
      const edited = await api.call("PUT", `/journeys/${id}`, doc("Versions", { steps: [{ id: "pause", type: "delay", duration: "2d" }, { id: "hello", type: "email", subject: "Hello again", text: "Welcome" }] }));
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.equal((edited.body.journey as { version: number }).version, 2);
      const versions = (await api.call("GET", `/journeys/${id}/versions`)).body.versions as Array<{ version: number; source: string }>;
      assert.deepEqual(versions.map((v) => v.version).sort(), [1, 2]);
      const stayed = (await api.call("GET", "/customers/j-a/journeys")).body.runs as Array<Record<string, unknown>>;
      assert.equal(stayed.find((x) => x.journey_id === id)!.version, 1, "runs stay on their version");
      const moved = await api.call("POST", `/journeys/${id}/move_runs`, {});
      assert.deepEqual(moved.body, { moved: 1, stayed: 0 });
      const after = (await api.call("GET", "/customers/j-a/journeys")).body.runs as Array<Record<string, unknown>>;
      assert.equal(after.find((x) => x.journey_id === id)!.version, 2);
      const metrics = await api.call("GET", `/journeys/${id}/metrics`);
      assert.equal(metrics.status, 200, JSON.stringify(metrics.body));
      const m = metrics.body.metrics as { journey_id: number; entered: number; active: number; steps: Array<{ step: string }> };
      assert.equal(m.journey_id, id);
      assert.equal(m.entered, 1);
      assert.ok(m.steps.some((s) => s.step === "pause"));
      assert.equal((await api.call("GET", `/journeys/${id}/metrics?version=1`)).status, 200);
      const paused = await api.call("POST", `/journeys/${id}/state`, { state: "paused" });
      assert.equal((paused.body.journey as { state: string }).state, "paused");
    });

    test("bad documents answer 400 naming the field; bad calls and unknown ids are refused", async () => {
      const bad = await api.call("POST", "/journeys", doc("Bad", { steps: [{ id: "pause", type: "delay", duration: "forever" }] }));
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      const [e] = bad.body.errors as Array<{ reason: string; field: string; message: string }>;
      assert.equal(e!.reason, "journey_definition_invalid");
      assert.match(e!.field, /^steps\[0\]/);
      assert.equal(typeof (bad.body.meta as { error: string }).error, "string");
      const noTrigger = await api.call("POST", "/journeys", { name: "No trigger", steps: [] });
      assert.equal(noTrigger.status, 400);
      const badYaml = await yamlPost("/journeys", "POST", "name: [unclosed");
      assert.equal(badYaml.status, 400);
      const empty = await fetch(`${server.url}/v1/journeys`, { method: "POST", headers: { authorization: `Bearer ${appKey}` } });
      assert.equal(empty.status, 400);
      assert.equal((await api.call("POST", "/journeys", [1, 2])).status, 400);
      const huge = await yamlPost("/journeys", "POST", `name: big\ndescription: "${"x".repeat(600 * 1024)}"\n`);
      assert.equal(huge.status, 413);
      assert.equal((await api.call("POST", "/journeys?state=sleeping", doc("x"))).status, 400);
      const id = ((await api.call("POST", "/journeys", doc("Target"))).body.journey as { id: number }).id;
      const badState = await api.call("POST", `/journeys/${id}/state`, { state: "asleep" });
      assert.equal(badState.status, 400);
      assert.equal((badState.body.errors as Array<{ field: string }>)[0]!.field, "state");
      assert.equal((await api.call("POST", `/journeys/${id}/move_runs`, { from_version: "one" })).status, 400);
      assert.equal((await api.call("GET", `/journeys/${id}/metrics?version=zero`)).status, 400);
      assert.equal((await api.call("PUT", `/journeys/${id}`, doc("Target", { steps: "none" }))).status, 400);
      for (const path of ["/journeys/424242", "/journeys/424242/versions", "/journeys/424242/metrics", "/journeys/abc"]) assert.equal((await api.call("GET", path)).status, 404, path);
      assert.equal((await api.call("PUT", "/journeys/424242", doc("x"))).status, 404);
      assert.equal((await api.call("DELETE", "/journeys/424242")).status, 404);
      assert.equal((await api.call("POST", "/journeys/424242/state", { state: "live" })).status, 404);
      assert.equal((await api.call("GET", "/customers/nobody/journeys")).status, 404);
      assert.equal((await api.call("GET", "/customers/j-a/journeys?limit=500")).status, 400);
    });

    test("another workspace's key sees none of these journeys; a deleted journey is gone", async () => {
      const id = ((await api.call("POST", "/journeys", doc("Private"))).body.journey as { id: number }).id;
      assert.deepEqual((await other.call("GET", "/journeys")).body, { journeys: [] });
      for (const path of [`/journeys/${id}`, `/journeys/${id}/versions`, `/journeys/${id}/metrics`]) assert.equal((await other.call("GET", path)).status, 404, path);
      assert.equal((await other.call("PUT", `/journeys/${id}`, doc("Taken"))).status, 404);
      assert.equal((await other.call("POST", `/journeys/${id}/state`, { state: "live" })).status, 404);
      assert.equal((await other.call("DELETE", `/journeys/${id}`)).status, 404);
      assert.equal((await other.call("GET", "/customers/j-a/journeys")).status, 404);
      const deleted = await fetch(`${server.url}/v1/journeys/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${appKey}` } });
      assert.equal(deleted.status, 204);
      assert.equal((await api.call("GET", `/journeys/${id}`)).status, 404);
    });
  });
}
