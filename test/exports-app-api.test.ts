// Exports end to end, on SQLite and PostgreSQL, through customerio-node's APIClient:
// createCustomersExport with Customer.io's filter trees, getExport until the worker role has built
// it, listExports, downloadExport, then the signed link fetched without the App API key and the
// CSV parsed and compared with the people made for it (quoting of commas, quotes and line breaks
// included). A deliveries export after a real newsletter reached an SMTP sink, narrowed by metric
// and time, with attribute columns. Bad filters and options refused with the field; forged,
// tampered and expired links refused with a plain 403; another workspace's exports are 404 and its
// links open only its own file. With no worker role running, exports stay pending: a download is
// 409 and a fourth export at once is 429.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { APIClient, DeliveryExportMetric } from "customerio-node";
import { startTestServer, type TestServer } from "./support/server.js";
import { appApi, MovableClock, until, type AppApi } from "./support/segments.js";
import { cioClient, startAppApiWorld, type AppApiWorld } from "./support/app-api-world.js";
import { serverDatabases } from "./support/stores.js";
import type { PersonOperation } from "../src/people/people.port.js";

type ExportJson = { id: number; type: string; status: string; failed: boolean; total: number; downloads: number; description: string; deduplicate_id: string; created_at: number; updated_at: number; error: string | null };

/** RFC 4180, as the file is written: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") endField();
    else if (c === "\r" && text[i + 1] === "\n") {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += c;
  }
  assert.equal(field + row.join(""), "", "the file ends with CRLF");
  return rows;
}

/** The CSV as records keyed by its header. */
function records(text: string): Array<Record<string, string>> {
  const [head, ...rows] = parseCsv(text);
  return rows.map((r) => {
    assert.equal(r.length, head!.length, `a row has as many fields as the header: ${JSON.stringify(r)}`);
    return Object.fromEntries(head!.map((h, i) => [h, r[i]!]));
  });
}


/** Customer.io's client rejects with the status and the `meta.error` text. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call;
  } catch (err) {
    return { status: (err as { statusCode: number }).statusCode, message: (err as Error).message };
  }
  throw new Error("the call was not refused");
}

for (const database of serverDatabases()) {
  describe(`[${database.name}] exports through customerio-node`, () => {
    let server: TestServer;
    let client: APIClient;
    let rival: APIClient;
    let api: AppApi;
    let rivalApi: AppApi;
    let workspaceId: string;
    let world: AppApiWorld;
    const clock = new MovableClock();

    before(async () => {
      world = await startAppApiWorld(database, clock);
      ({ server, workspaceId, api, rival: rivalApi } = world);
      client = cioClient(server.url, world.shopKey);
      rival = cioClient(server.url, world.rivalKey);
    });
    after(async () => world.close());

    async function identify(id: string, attributes: Record<string, unknown>, options: { unsubscribed?: boolean; workspace?: string } = {}): Promise<void> {
      const op: PersonOperation = { op: "identify", who: { kind: "id", value: id }, attributes, alsoKnownAs: [{ kind: "email", value: `${id}@example.test` }], ...(options.unsubscribed ? { unsubscribed: true } : {}) };
      const ws = options.workspace ?? workspaceId;
      for (const r of await server.app.services.people.apply(ws, [op], { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
    }
    const done = (c: APIClient, id: number) =>
      until(`export ${id} done`, async () => {
        const e = ((await c.getExport(id)) as { export: ExportJson }).export;
        return e.status === "done" || e.status === "failed" ? e : false;
      }, 15_000);
    const download = async (c: APIClient, id: number) => {
      const { url } = (await c.downloadExport(id)) as { url: string };
      const response = await fetch(url);
      assert.equal(response.status, 200, await response.clone().text());
      return { url, type: response.headers.get("content-type"), disposition: response.headers.get("content-disposition"), text: await response.text() };
    };

    test("a customers export lists every matching person with id, email, cio_id, created_at and each attribute, quoted where needed", async () => {
      await identify("cx-ada", { plan: "pro", note: 'says "hi", twice', city: "Zürich" });
      await identify("cx-bob", { plan: "pro", note: "two\nlines", score: 7, tags: ["a", "b"] });
      await identify("cx-cy", { plan: "pro", note: " padded " });
      await identify("cx-dee", { plan: "free", note: "not exported" });
      const created = (await client.createCustomersExport({ and: [{ attribute: { field: "plan", operator: "eq", value: "pro" } }] } as never)) as { export: ExportJson };
      assert.equal(created.export.type, "customers");
      assert.ok(["pending", "running", "done"].includes(created.export.status), created.export.status);
      assert.equal(created.export.failed, false);
      const finished = await done(client, created.export.id);
      assert.equal(finished.status, "done");
      assert.equal(finished.total, 3);
      assert.equal(finished.downloads, 0);
      assert.match(finished.deduplicate_id, new RegExp(`^${finished.id}:\\d+$`));
      const listed = (await client.listExports()) as { exports: ExportJson[] };
      assert.ok(listed.exports.some((e) => e.id === finished.id && e.status === "done"));

      const file = await download(client, finished.id);
      assert.match(file.url, /\/exports\/files\//);
      assert.equal(file.type, "text/csv; charset=utf-8");
      assert.match(file.disposition ?? "", /attachment; filename="customers-export-\d+\.csv"/);
      const [head] = parseCsv(file.text);
      assert.deepEqual(head, ["id", "email", "cio_id", "created_at", "city", "note", "plan", "score", "tags"]);
      const rows = records(file.text).sort((x, y) => x.id!.localeCompare(y.id!));
      const people = await Promise.all(["cx-ada", "cx-bob", "cx-cy"].map(async (id) => (await server.app.services.people.find(workspaceId, { kind: "id", value: id }))!));
      assert.deepEqual(
        rows,
        people.map((p) => ({ id: p.id!, email: p.email!, cio_id: p.personId, created_at: String(Math.floor(p.createdAt / 1000)), city: "", note: "", plan: "pro", score: "", tags: "", ...stringify(p.attributes) })),
      );
      assert.equal(rows[0]!.note, 'says "hi", twice');
      assert.equal(rows[0]!.city, "Zürich");
      assert.equal(rows[1]!.note, "two\nlines");
      assert.equal(rows[1]!.tags, '["a","b"]');
      assert.equal(rows[2]!.note, " padded ");
      assert.equal((((await client.getExport(finished.id)) as { export: ExportJson }).export).downloads, 1);
    });

    test("segments, or and not filter a customers export as they filter a broadcast", async () => {
      await identify("sg-a", { tier: "gold" });
      await identify("sg-b", { tier: "silver" });
      await identify("sg-c", { tier: "gold", churned: true });
      const segment = await api.call("POST", "/segments", { segment: { name: "sg members" } });
      const segmentId = (segment.body.segment as { id: number }).id;
      await server.app.services.segments.addPeople(workspaceId, String(segmentId), ["sg-a", "sg-b", "sg-c"].map((value) => ({ kind: "id", value })));
      const ids = async (filters: unknown) => {
        const e = ((await client.createCustomersExport(filters as never)) as { export: ExportJson }).export;
        assert.equal((await done(client, e.id)).status, "done");
        return records((await download(client, e.id)).text).map((r) => r.id!).sort();
      };
      assert.deepEqual(await ids({ and: [{ segment: { id: segmentId } }] }), ["sg-a", "sg-b", "sg-c"]);
      assert.deepEqual(await ids({ and: [{ segment: { id: segmentId } }, { attribute: { field: "tier", operator: "eq", value: "gold" } }, { not: { attribute: { field: "churned", operator: "exists" } } }] }), ["sg-a"]);
      assert.deepEqual(await ids({ or: [{ attribute: { field: "tier", operator: "eq", value: "silver" } }, { attribute: { field: "churned", operator: "exists" } }] }), ["sg-b", "sg-c"]);
      assert.deepEqual(await ids({ and: [{ attribute: { field: "tier", operator: "eq", value: "platinum" } }] }), []);
    });

    test("a deliveries export lists a newsletter's mail with its statuses and the attributes asked for, narrowed by metric and time", async () => {
      await identify("dl-a", { plan: "gold", city: "Oslo" });
      await identify("dl-b", { plan: "gold", city: "Rome, Italy" });
      await identify("dl-c", { plan: "gold" }, { unsubscribed: true });
      const created = await api.call("POST", "/broadcasts", { broadcast: { name: "Gold news", from: "news@shop.test", subject: "Hello {{ customer.id }}", text: "t", recipients: { attribute: { field: "plan", operator: "eq", value: "gold" } } } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const newsletter = (created.body.broadcast as { id: number }).id;
      await until("the newsletter delivered to two", async () => {
        const b = (await api.call("GET", `/broadcasts/${newsletter}`)).body.broadcast as { state: string; metrics: { delivered: number } };
        return b.state === "done" && b.metrics.delivered === 2;
      }, 20_000);

      const all = ((await client.createDeliveriesExport(newsletter, { attributes: ["city", "plan", "city"] })) as { export: ExportJson }).export;
      assert.equal(all.type, "deliveries");
      assert.match(all.description, /Gold news/);
      assert.equal((await done(client, all.id)).total, 3);
      const file = await download(client, all.id);
      assert.deepEqual(parseCsv(file.text)[0], ["delivery_id", "customer_id", "cio_id", "email", "recipient", "subject", "newsletter_id", "created_at", "state", "skip_reason", "delivered_at", "opened_at", "clicked_at", "bounced_at", "unsubscribed_at", "city", "plan"]);
      const rows = records(file.text).sort((x, y) => x.customer_id!.localeCompare(y.customer_id!));
      assert.deepEqual(rows.map((r) => [r.customer_id, r.email, r.recipient, r.subject, r.newsletter_id, r.state, r.skip_reason, r.city, r.plan]), [
        ["dl-a", "dl-a@example.test", "dl-a@example.test", "Hello dl-a", String(newsletter), "sent", "", "Oslo", "gold"],
        ["dl-b", "dl-b@example.test", "dl-b@example.test", "Hello dl-b", String(newsletter), "sent", "", "Rome, Italy", "gold"],
        ["dl-c", "dl-c@example.test", "", "", String(newsletter), "skipped", "unsubscribed", "", "gold"],
      ]);
      for (const r of rows.slice(0, 2)) {
        assert.match(r.delivery_id!, /.+/);
        assert.ok(Number(r.delivered_at) >= Number(r.created_at), JSON.stringify(r));
      }
      assert.equal(rows[2]!.delivery_id, "");

      const delivered = ((await client.createDeliveriesExport(newsletter, { metric: DeliveryExportMetric.Delivered })) as { export: ExportJson }).export;
      assert.equal((await done(client, delivered.id)).total, 2);
      assert.deepEqual(records((await download(client, delivered.id)).text).map((r) => r.customer_id).sort(), ["dl-a", "dl-b"]);
      const undeliverable = ((await client.createDeliveriesExport(newsletter, { metric: DeliveryExportMetric.Undeliverable })) as { export: ExportJson }).export;
      assert.equal((await done(client, undeliverable.id)).total, 1);
      const before = ((await client.createDeliveriesExport(newsletter, { start: 0, end: Math.floor(clock.now() / 1000) - 3_600 })) as { export: ExportJson }).export;
      assert.equal((await done(client, before.id)).total, 0);
      assert.deepEqual(parseCsv((await download(client, before.id)).text).length, 1, "the header alone");
      const opened = ((await client.createDeliveriesExport(newsletter, { metric: DeliveryExportMetric.Opened, drafts: true })) as { export: ExportJson }).export;
      assert.equal((await done(client, opened.id)).total, 0);

      const unknown = await refusal(client.createDeliveriesExport(987654));
      assert.equal(unknown.status, 404);
      assert.match(unknown.message, /987654/);
      assert.equal((await refusal(rival.createDeliveriesExport(newsletter))).status, 404, "another workspace's newsletter is unknown");
    });

    test("bad filters and options are refused with the field, in Customer.io's form", async () => {
      const deep = (n: number): unknown => (n === 0 ? { attribute: { field: "a", operator: "exists" } } : { and: [deep(n - 1)] });
      const cases: Array<[string, unknown, string]> = [
        ["/exports/customers", {}, "filters"],
        ["/exports/customers", { filters: "everyone" }, "filters"],
        ["/exports/customers", { filters: { and: [] } }, "filters.and"],
        ["/exports/customers", { filters: { and: [{ attribute: { field: "plan", operator: "gt", value: 1 } }] } }, "filters.and[0].attribute.operator"],
        ["/exports/customers", { filters: { and: [{ attribute: { field: "plan", operator: "eq" } }] } }, "filters.and[0].attribute.value"],
        ["/exports/customers", { filters: { and: [{ segment: { id: "x" } }] } }, "filters.and[0].segment.id"],
        ["/exports/customers", { filters: { and: [{ segment: { id: 999999 } }] } }, "filters"],
        ["/exports/customers", { filters: { or: [{ segment: { id: 1 } }, { attribute: { field: "a", operator: "exists" } }] } }, "filters"],
        ["/exports/customers", { filters: { nope: 1 } }, "filters.nope"],
        ["/exports/customers", { filters: deep(12) }, `filters${".and[0]".repeat(10)}`],
        ["/exports/customers", { filters: { or: Array.from({ length: 101 }, () => ({ attribute: { field: "a", operator: "exists" } })) } }, "filters.or[100].attribute"],
        ["/exports/deliveries", {}, "newsletter_id"],
        ["/exports/deliveries", { newsletter_id: "abc" }, "newsletter_id"],
        ["/exports/deliveries", { newsletter_id: 1, start: "yesterday" }, "start"],
        ["/exports/deliveries", { newsletter_id: 1, start: 200, end: 100 }, "end"],
        ["/exports/deliveries", { newsletter_id: 1, attributes: "plan" }, "attributes"],
        ["/exports/deliveries", { newsletter_id: 1, attributes: ["plan", ""] }, "attributes[1]"],
        ["/exports/deliveries", { newsletter_id: 1, attributes: Array.from({ length: 101 }, (_, i) => `a${i}`) }, "attributes"],
        ["/exports/deliveries", { newsletter_id: 1, metric: "converted" }, "metric"],
        ["/exports/deliveries", { newsletter_id: 1, metric: "teleported" }, "metric"],
        ["/exports/deliveries", { newsletter_id: 1, drafts: "yes" }, "drafts"],
      ];
      for (const [path, body, field] of cases) {
        const r = await api.call("POST", path, body);
        assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
        assert.equal((r.body.errors as Array<{ field: string }>)[0]!.field, field, JSON.stringify(r.body));
        assert.equal(typeof (r.body.meta as { error: string }).error, "string");
      }
      const viaClient = await refusal(client.createCustomersExport({ and: [{ attribute: { field: "plan", operator: "like", value: "x" } }] } as never));
      assert.equal(viaClient.status, 400);
      assert.match(viaClient.message, /filters\.and\[0\]\.attribute\.operator/);
      assert.equal((await refusal(client.getExport(424242))).status, 404);
      assert.equal((await refusal(client.getExport("abc"))).status, 404);
      assert.equal((await refusal(client.downloadExport(424242))).status, 404);
      assert.equal((await appApi(server.url, "not-a-key").call("GET", "/exports")).status, 401);
    });

    test("download links: forged or tampered ones are 403, expired ones 403, and another workspace's exports stay its own", async () => {
      await identify("ln-a", { plan: "link" });
      await identify("ln-rival", { plan: "link" }, { workspace: (await server.app.services.workspaces.get("rival")).id });
      const mine = ((await client.createCustomersExport({ and: [{ attribute: { field: "plan", operator: "eq", value: "link" } }] } as never)) as { export: ExportJson }).export;
      const theirs = ((await rival.createCustomersExport({ and: [{ attribute: { field: "plan", operator: "eq", value: "link" } }] } as never)) as { export: ExportJson }).export;
      await done(client, mine.id);
      await done(rival, theirs.id);
      assert.deepEqual(records((await download(client, mine.id)).text).map((r) => r.id), ["ln-a"]);
      assert.deepEqual(records((await download(rival, theirs.id)).text).map((r) => r.id), ["ln-rival"]);

      // Another workspace's export is unknown to this key, in every call.
      assert.equal((await refusal(rival.getExport(mine.id))).status, 404);
      assert.equal((await refusal(rival.downloadExport(mine.id))).status, 404);
      assert.ok(!((await rival.listExports()) as { exports: ExportJson[] }).exports.some((e) => e.id === mine.id));
      assert.equal((await rivalApi.call("GET", `/exports/${mine.id}`)).status, 404);

      const { url } = (await client.downloadExport(mine.id)) as { url: string };
      const token = url.slice(url.lastIndexOf("/") + 1);
      const [body, mac] = token.split(".") as [string, string];
      const base = url.slice(0, url.lastIndexOf("/") + 1);
      const get = async (t: string) => {
        const r = await fetch(base + t);
        return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
      };
      const rivalWorkspace = (await server.app.services.workspaces.get("rival")).id;
      // The rival's id with this link's MAC, and this workspace's id with the rival export's id: both forged.
      const [, , expiry] = JSON.parse(Buffer.from(body, "base64url").toString()) as [string, number, number];
      for (const forged of [
        `${Buffer.from(JSON.stringify([rivalWorkspace, theirs.id, expiry])).toString("base64url")}.${mac}`,
        `${Buffer.from(JSON.stringify([workspaceId, theirs.id, expiry])).toString("base64url")}.${mac}`,
        `${Buffer.from(JSON.stringify([workspaceId, mine.id, expiry + 86_400])).toString("base64url")}.${mac}`,
        `${body}.${(mac[0] === "A" ? "B" : "A") + mac.slice(1)}`,
        body,
        "x".repeat(450),
      ]) {
        const r = await get(forged);
        assert.equal(r.status, 403, forged);
        assert.equal(r.type, "text/plain; charset=utf-8");
        assert.match(r.text, /not valid/);
      }
      assert.equal((await get(token)).status, 200, "the real link still opens");
      clock.advance(16 * 60_000);
      const expired = await get(token);
      assert.equal(expired.status, 403);
      assert.match(expired.text, /expired/);
      const fresh = await download(client, mine.id);
      assert.deepEqual(records(fresh.text).map((r) => r.id), ["ln-a"]);
      assert.equal(((await client.getExport(mine.id)) as { export: ExportJson }).export.downloads, 3);
    });
  });

  test(`[${database.name}] with no worker role, exports stay pending: a download is 409 and a fourth export at once is 429`, async () => {
    const db = await database.open();
    const server = await startTestServer({ POSTHORN_ROLES: "api", ...db.env });
    try {
      await server.createWorkspace("busy");
      await server.createWorkspace("calm");
      const client = cioClient(server.url, await server.app.services.workspaces.createAppKey("busy"));
      const calm = cioClient(server.url, await server.app.services.workspaces.createAppKey("calm"));
      const filters = { and: [{ attribute: { field: "plan", operator: "exists" } }] } as never;
      const first = ((await client.createCustomersExport(filters)) as { export: ExportJson }).export;
      assert.equal(first.status, "pending");
      const notReady = await refusal(client.downloadExport(first.id));
      assert.equal(notReady.status, 409);
      assert.match(notReady.message, /pending/);
      await client.createCustomersExport(filters);
      await client.createCustomersExport(filters);
      const busy = await refusal(client.createCustomersExport(filters));
      assert.equal(busy.status, 429);
      assert.match(busy.message, /3 exports building/);
      assert.equal(((await client.listExports()) as { exports: ExportJson[] }).exports.length, 3, "the refused one was not recorded");
      // The limit is per workspace.
      assert.equal(((await calm.createCustomersExport(filters)) as { export: ExportJson }).export.status, "pending");
    } finally {
      await server.close();
      await db.drop();
    }
  });
}

function stringify(attributes: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
