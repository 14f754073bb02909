// How long a stream archived by another process can still take mail: the stream verdict cache of
// WorkspacesService (STREAM_CACHE_MS), against a real store and a clock the test moves. The
// process that archives forgets its cached verdict at once (covered through the API in
// src/api/postmark/message-streams.routes.test.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { openTempSqlite } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { isPosthornError } from "../shared/errors.js";
import { STREAM_CACHE_MS, WorkspacesService, type Workspace } from "./workspaces.service.js";
import { StreamsService } from "./streams.service.js";

describe("archived streams and the stream cache", () => {
  let store: Store;
  let now = 1_000_000;
  const clock = { now: () => now };
  let workspace: Workspace;

  before(async () => {
    store = await openTempSqlite();
    workspace = (await new WorkspacesService({ store, clock }).create("acme", { sandbox: true })).workspace;
  });

  after(async () => {
    await store.close();
  });

  it("another process's archive is obeyed within STREAM_CACHE_MS; the archiving process's at once", async () => {
    const smtpProcess = new WorkspacesService({ store, clock });
    const apiProcess = new WorkspacesService({ store, clock });
    const streams = new StreamsService({ store, clock, onChanged: (w, s) => apiProcess.forgetStream(w, s) });
    await streams.create(workspace.id, { id: "alerts", name: "Alerts", type: "Transactional" });
    await smtpProcess.assertSendableStream(workspace.id, "alerts");
    await apiProcess.assertSendableStream(workspace.id, "alerts");

    await streams.archive(workspace.id, "alerts");
    await assert.rejects(apiProcess.assertSendableStream(workspace.id, "alerts"), (err) => isPosthornError(err, "STREAM_ARCHIVED"));
    now += STREAM_CACHE_MS - 1;
    await smtpProcess.assertSendableStream(workspace.id, "alerts"); // still the cached verdict
    now += 1;
    await assert.rejects(smtpProcess.assertSendableStream(workspace.id, "alerts"), (err) => isPosthornError(err, "STREAM_ARCHIVED"));

    await streams.unarchive(workspace.id, "alerts");
    await apiProcess.assertSendableStream(workspace.id, "alerts");
    assert.ok(STREAM_CACHE_MS <= 5_000, "the documented bound");
  });

  it("keeps Postmark's rules whatever the edge sends", async () => {
    const streams = new StreamsService({ store, clock, onChanged: () => undefined });
    const code = (call: Promise<unknown>) => call.then(() => "ok", (err: unknown) => (isPosthornError(err) ? err.code : String(err)));
    assert.equal(await code(streams.create(workspace.id, { id: "b1", name: "B", type: "Broadcasts", unsubscribeHandling: "none" })), "STREAM_INVALID");
    assert.equal(await code(streams.create(workspace.id, { id: "t1", name: "T", type: "Transactional", unsubscribeHandling: "custom" })), "STREAM_INVALID");
    assert.equal(await code(streams.create(workspace.id, { id: "t1", name: { x: 1 }, type: "Transactional" })), "STREAM_INVALID");
    assert.equal(await code(streams.create(workspace.id, { id: "b1", name: "B", type: "Broadcasts", unsubscribeHandling: "custom" })), "ok");
    assert.equal((await streams.get(workspace.id, "b1")).unsubscribeHandling, "custom");
    assert.equal(await code(streams.edit(workspace.id, "b1", { name: "  " })), "STREAM_INVALID");
    assert.equal(await code(streams.archive(workspace.id, "outbound")), "STREAM_NOT_ARCHIVABLE");
    assert.equal(await code(streams.get(workspace.id, "none-such")), "STREAM_NOT_FOUND");
  });
});
