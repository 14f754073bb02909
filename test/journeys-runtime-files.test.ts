// Journeys as code (POSTHORN_JOURNEYS_DIR): a folder of JSON and YAML journey documents, each naming
// its workspace, loaded into the journeys service: a new file makes a live journey, a changed
// file a new version, a removed file archives its journey; a bad folder fails with every problem
// (file and field) listed and changes nothing; the API refuses to change a file journey.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { storeTargets } from "./support/stores.js";
import { MovableClock } from "./support/segments.js";
import { tempDir } from "./support/server.js";
import { journeyWorld, type JourneyWorld } from "./support/journeys-world.js";
import { loadJourneyFiles, JourneyFilesError } from "../src/journeys/journey-files.js";
import type { Store } from "../src/store/store.js";

for (const target of storeTargets()) {
  describe(`journeys as code (${target.name})`, () => {
    let store: Store;
    let world: JourneyWorld;
    const dir = tempDir("posthorn-journey-files-");

    before(async () => {
      store = await target.open();
      world = await journeyWorld(store, new MovableClock(), { startRuntime: false });
    });
    after(async () => {
      await world.close();
      await store.close();
      dir.remove();
    });

    const load = () => loadJourneyFiles(dir.path, { workspaceIdOf: async (name) => (await world.workspaces.get(name)).id, journeys: world.journeys });

    test("a bad folder fails listing every problem with its file and field, and changes nothing", async () => {
      writeFileSync(join(dir.path, "a-bad-step.yaml"), `workspace: ${world.workspaceName}\nname: bad\ntrigger: { event: { name: go } }\nsteps:\n  - { id: wait, type: delay, duration: forever }\n`);
      writeFileSync(join(dir.path, "b-no-workspace.json"), JSON.stringify({ workspace: "no-such-workspace", name: "x", trigger: { event: { name: "go" } }, steps: [{ id: "e", type: "exit" }] }));
      writeFileSync(join(dir.path, "c-not-yaml.yml"), "name: [unclosed\n");
      writeFileSync(join(dir.path, "d-segment.json"), JSON.stringify({ workspace: world.workspaceName, name: "seg", trigger: { segment: { id: "424242" } }, steps: [{ id: "e", type: "exit" }] }));
      writeFileSync(join(dir.path, "notes.txt"), "not a journey");
      await assert.rejects(load(), (err: unknown) => {
        assert.ok(err instanceof JourneyFilesError, String(err));
        assert.deepEqual(err.problems.map((p) => p.split(":")[0]), ["a-bad-step.yaml", "b-no-workspace.json", "c-not-yaml.yml", "d-segment.json"], err.message);
        assert.match(err.problems[0]!, /^a-bad-step\.yaml: steps\[0\]\.duration/);
        assert.match(err.problems[1]!, /workspace: /);
        assert.match(err.problems[3]!, /trigger\.segment\.id: there is no segment 424242/);
        return true;
      });
      assert.deepEqual(await world.journeys.list(world.workspaceId), []);
      for (const name of ["a-bad-step.yaml", "b-no-workspace.json", "c-not-yaml.yml", "d-segment.json"]) rmSync(join(dir.path, name));
    });

    test("a new file makes a live journey, a changed one a new version, a removed one archives it; the API refuses to change it", async () => {
      const file = join(dir.path, "welcome.yaml");
      writeFileSync(file, `workspace: ${world.workspaceName}\nname: Welcome\ntrigger: { event: { name: signed_up } }\nsteps:\n  - { id: hello, type: email, subject: Hi, text: hello }\n`);
      assert.deepEqual(await load(), { created: 1, updated: 0, archived: 0 });
      const [journey] = await world.journeys.list(world.workspaceId);
      assert.ok(journey);
      assert.deepEqual([journey.state, journey.origin, journey.version], ["live", "file", 1]);
      assert.deepEqual(await load(), { created: 0, updated: 0, archived: 0 }, "an unchanged file changes nothing");
      writeFileSync(file, `workspace: ${world.workspaceName}\nname: Welcome\ntrigger: { event: { name: signed_up } }\nsteps:\n  - { id: hello, type: email, subject: Hello there, text: hello }\n`);
      assert.deepEqual(await load(), { created: 0, updated: 1, archived: 0 });
      assert.equal((await world.journeys.get(world.workspaceId, journey.journeyId))!.version, 2);
      await assert.rejects(world.journeys.update(world.workspaceId, journey.journeyId, { name: "x", trigger: { event: { name: "a" } }, steps: [{ id: "e", type: "exit" }] }), (err: Error & { code?: string }) => err.code === "JOURNEY_STATE_CONFLICT");
      await assert.rejects(world.journeys.delete(world.workspaceId, journey.journeyId), (err: Error & { code?: string }) => err.code === "JOURNEY_STATE_CONFLICT");
      rmSync(file);
      assert.deepEqual(await load(), { created: 0, updated: 0, archived: 1 });
      assert.equal((await world.journeys.get(world.workspaceId, journey.journeyId))!.state, "archived");
    });
  });
}
