// The export processor on SQLite and PostgreSQL, with the real people and segments domains and
// the broadcasts' audience reader: rows written in batches, each person once; a worker that lost
// its claim mid-export (its lease ran out and another took over) commits nothing, so the file has
// no row twice and none missing; the row cap fails an export saying so and gives its building
// place back; finished exports are removed after their retention.
import { test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "./support/stores.js";
import type { Store } from "../src/store/store.js";
import { silentLogger } from "../src/shared/logger.js";
import { isPosthornError } from "../src/shared/errors.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";
import { EventsRepository } from "../src/events/events.repository.js";
import { Outbox } from "../src/events/outbox.js";
import { SegmentsRepository } from "../src/segments/segments.repository.js";
import { SegmentsService } from "../src/segments/segments.service.js";
import { MembershipKeeper } from "../src/segments/membership.keeper.js";
import { AudienceReader } from "../src/broadcasts/audience.reader.js";
import { ExportsRepository } from "../src/exports/exports.repository.js";
import { ExportsService } from "../src/exports/exports.service.js";
import { ExportProcessor, RETENTION_MS } from "../src/exports/export.processor.js";
import { ExportSources } from "../src/exports/export-sources.js";
import { DownloadLinks, downloadLinkKey } from "../src/exports/download-links.js";

class TestClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

async function world(store: Store) {
  const clock = new TestClock(Date.parse("2026-12-05T12:00:00Z"));
  const workspaces = new WorkspacesService({ store, clock });
  const { workspace } = await workspaces.create(`shop-${Math.random().toString(36).slice(2, 8)}`, { sandbox: false });
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
  const people = peopleServiceFor(store, clock, { outbox });
  const segmentsRepository = new SegmentsRepository();
  const segments = new SegmentsService({ store, clock, repository: segmentsRepository, keeper: new MembershipKeeper({ store, clock, outbox, repository: segmentsRepository, people }), people });
  const repository = new ExportsRepository();
  const service = new ExportsService({ store, clock, repository, segments, broadcasts: { get: async () => null }, links: new DownloadLinks(downloadLinkKey(Buffer.alloc(32, 1))) });
  const sources = new ExportSources({ audience: new AudienceReader({ people, segments }), ledger: { broadcastMail: async () => ({ items: [], next: null }) }, people });
  for (const [i, id] of ["a", "b", "c", "d", "e", "f", "g"].entries()) {
    const [r] = await people.apply(workspace.id, [{ op: "identify", who: { kind: "id", value: `p-${id}` }, attributes: { plan: "pro", [`only_${id}`]: i } }], { atomic: true });
    assert.ok(r!.ok, JSON.stringify(r));
  }
  return {
    store,
    clock,
    workspaceId: workspace.id,
    service,
    processor: (options: { rowCap?: number; leaseMs?: number; sources?: Pick<ExportSources, "page"> } = {}) =>
      new ExportProcessor({ store, clock, logger: silentLogger(), repository, sources: options.sources ?? sources, batchRows: 3, rowCap: options.rowCap, leaseMs: options.leaseMs ?? 30_000 }),
    sources,
    /** The export's file, as the download link opens it. */
    async file(exportId: string): Promise<string> {
      const { token } = await service.downloadToken(workspace.id, exportId);
      const opened = await service.open(token);
      assert.equal(opened.kind, "file");
      let text = "";
      if (opened.kind === "file") for await (const line of opened.lines) text += line;
      return text;
    },
    async chunkSeqs(exportId: string): Promise<number[]> {
      const rows = await store.db.selectFrom("export_chunks").select("seq").where("export_id", "=", Number(exportId)).orderBy("seq").execute();
      return rows.map((r) => Number(r.seq));
    },
  };
}

const proFilter = { filters: { and: [{ attribute: { field: "plan", operator: "eq", value: "pro" } }] } };
const ids = (csv: string) => csv.trim().split("\r\n").slice(1).map((line) => line.split(",")[0]!);

async function drain(processor: ExportProcessor): Promise<void> {
  while (await processor.runOnce());
}

for (const target of storeTargets()) {
  test(`[${target.name}] an export is written in batches, each person once, with every attribute seen as a sorted column`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const created = await w.service.createCustomers(w.workspaceId, proFilter);
      assert.equal(created.state, "pending");
      await drain(w.processor());
      const done = await w.service.get(w.workspaceId, created.exportId);
      assert.equal(done.state, "done");
      assert.equal(done.total, 7);
      assert.deepEqual(await w.chunkSeqs(created.exportId), [0, 1, 2], "7 rows in batches of 3");
      const csv = await w.file(created.exportId);
      assert.equal(csv.split("\r\n")[0], "id,email,cio_id,created_at,only_a,only_b,only_c,only_d,only_e,only_f,only_g,plan");
      assert.deepEqual(ids(csv).sort(), ["p-a", "p-b", "p-c", "p-d", "p-e", "p-f", "p-g"]);
      const line = csv.split("\r\n").find((l) => l.startsWith("p-c,"))!;
      assert.deepEqual(line.split(",").slice(4), ["", "", "2", "", "", "", "", "pro"]);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a worker whose claim ran out commits nothing: the one that took over finishes with no row twice or missing`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const created = await w.service.createCustomers(w.workspaceId, proFilter);
      let pages = 0;
      let takenOver = false;
      // The slow worker reads its second page, then stalls past its lease: meanwhile another claims the export and finishes it.
      const slow = w.processor({
        leaseMs: 1_000,
        sources: {
          page: async (...args) => {
            const page = await w.sources.page(...args);
            if (++pages === 2) {
              w.clock.t += 5_000;
              await drain(w.processor({ leaseMs: 1_000 }));
              takenOver = true;
            }
            return page;
          },
        },
      });
      await drain(slow);
      assert.ok(takenOver);
      const done = await w.service.get(w.workspaceId, created.exportId);
      assert.equal(done.state, "done");
      assert.equal(done.total, 7);
      assert.deepEqual(await w.chunkSeqs(created.exportId), [0, 1, 2]);
      const rows = ids(await w.file(created.exportId));
      assert.equal(rows.length, 7);
      assert.equal(new Set(rows).size, 7);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] over the row cap an export fails saying so, and gives its building place back`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const created = await w.service.createCustomers(w.workspaceId, proFilter);
      await drain(w.processor({ rowCap: 5 }));
      const failed = await w.service.get(w.workspaceId, created.exportId);
      assert.equal(failed.state, "failed");
      assert.match(failed.error ?? "", /More than 5 rows/);
      await assert.rejects(w.service.downloadToken(w.workspaceId, created.exportId), (err) => isPosthornError(err, "EXPORT_NOT_READY"));
      // Its place is free again: three more may build at once, a fourth may not.
      for (let i = 0; i < 3; i++) await w.service.createCustomers(w.workspaceId, proFilter);
      await assert.rejects(w.service.createCustomers(w.workspaceId, proFilter), (err) => isPosthornError(err, "EXPORT_TOO_BUSY"));
      await drain(w.processor());
      await w.service.createCustomers(w.workspaceId, proFilter);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] finished exports and their files are removed after the retention; a link to one opens nothing`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const created = await w.service.createCustomers(w.workspaceId, proFilter);
      await drain(w.processor());
      const { token } = await w.service.downloadToken(w.workspaceId, created.exportId);
      w.clock.t += RETENTION_MS + 120_000;
      await drain(w.processor());
      await assert.rejects(w.service.get(w.workspaceId, created.exportId), (err) => isPosthornError(err, "EXPORT_NOT_FOUND"));
      assert.deepEqual(await w.chunkSeqs(created.exportId), []);
      assert.deepEqual(await w.service.open(token), { kind: "refused", reason: "expired" });
    } finally {
      await store.close();
    }
  });
}
