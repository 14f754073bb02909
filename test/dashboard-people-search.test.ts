// The dashboard's people search from indexes (src/people/people.search.ts) on SQLite and
// PostgreSQL: a cio_id first, then id and email prefixes merged in key order, a person matched by
// both shown once, keyset pages that are full until the last and neither lose nor repeat anyone,
// email prefixes in any case and id prefixes as typed, other workspaces' people never found.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import type { PeopleAnswer } from "../src/api/dashboard/people.contract.js";

const PASSWORD = "correct horse battery staple";

for (const database of serverDatabases()) {
  describe(`dashboard people search from indexes (${database.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let shop = "";
    let cookie = "";

    const search = async (q: string, limit: number, cursor: string | null = null): Promise<PeopleAnswer> => {
      const query = new URLSearchParams({ q, limit: String(limit), ...(cursor ? { cursor } : {}) });
      const res = await fetch(`${server.url}/api/app/workspaces/${shop}/people?${query}`, { headers: { cookie } });
      assert.equal(res.status, 200);
      return (await res.json()) as PeopleAnswer;
    };
    /** Every page of a search: the people's ids (or emails) in order, and each page's size. */
    const all = async (q: string, limit: number) => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: PeopleAnswer = await search(q, limit, cursor);
        sizes.push(page.people.length);
        seen.push(...page.people.map((p) => p.id ?? p.email ?? p.personId));
        cursor = page.next;
      } while (cursor !== null && sizes.length < 50);
      return { seen, sizes };
    };

    before(async () => {
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer(db.env);
      const services = server.app.services;
      shop = (await services.workspaces.create("shop", { sandbox: true })).workspace.id;
      const rival = (await services.workspaces.create("rival", { sandbox: true })).workspace.id;
      await services.users.create({ email: "vic@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      const res = await fetch(`${server.url}/api/app/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "vic@example.com", password: PASSWORD }) });
      cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;

      const identify = (id: string | null, email: string | null) => ({
        op: "identify" as const,
        who: id !== null ? { kind: "id" as const, value: id } : { kind: "email" as const, value: email! },
        attributes: { plan: "user-plan" },
        ...(id !== null && email !== null ? { alsoKnownAs: [{ kind: "email" as const, value: email }] } : {}),
      });
      // 23 "user-NN" ids with emails elsewhere; 3 people known by an email "User-…" only; one whose id and email both match.
      const ops = [
        ...Array.from({ length: 23 }, (_, i) => identify(`user-${String(i).padStart(2, "0")}`, `p${i}@example.test`)),
        ...["User-Ann@Example.test", "user-bob@example.test", "user-zed@example.test"].map((email) => identify(null, email)),
        identify("user-both", "user-both@example.test"),
        identify("USER-upper", "upper@example.test"),
        identify("other", "other@example.test"),
      ];
      for (const op of ops) assert.ok((await services.people.apply(shop, [op], { atomic: true }))[0]!.ok);
      assert.ok((await services.people.apply(rival, [identify("user-rival", "user-rival@example.test")], { atomic: true }))[0]!.ok);
    });
    after(async () => {
      await server?.close();
      await drop?.();
    });

    it("merges id and email prefixes in key order, shows a person matched by both once, and fills every page but the last", async () => {
      const { seen, sizes } = await all("user-", 5);
      const ids = Array.from({ length: 23 }, (_, i) => `user-${String(i).padStart(2, "0")}`);
      // Keys in byte order: "user-00".."user-22", then "user-ann@…" (email, lower-cased key), "user-bob@…", "user-both" (its id sorts before its email), "user-zed@…".
      assert.deepEqual(seen, [...ids, "User-Ann@Example.test", "user-bob@example.test", "user-both", "user-zed@example.test"]);
      assert.deepEqual(sizes, [5, 5, 5, 5, 5, 2], "full pages until the last");
      assert.ok(!seen.includes("user-rival"), "another workspace's people are not found");
    });

    it("finds an email prefix in any case, an id prefix as typed, an exact email and a cio_id", async () => {
      assert.deepEqual((await search("USER-ANN", 10)).people.map((p) => p.email), ["User-Ann@Example.test"]);
      // Ids as typed ("USER-upper" only), emails any case (the rest); "user-both" is found by its email here.
      assert.deepEqual((await search("USER-", 30)).people.map((p) => p.id ?? p.email), ["USER-upper", "User-Ann@Example.test", "user-bob@example.test", "user-both", "user-zed@example.test"]);
      assert.deepEqual((await search("p7@example.test", 10)).people.map((p) => p.id), ["user-07"]);
      const other = (await search("other", 10)).people[0]!;
      const byCioId = await search(other.personId, 10);
      assert.deepEqual(byCioId.people.map((p) => p.personId), [other.personId]);
      assert.equal(byCioId.next, null);
      const alone = await search(other.personId, 1);
      assert.deepEqual(alone.people.map((p) => p.personId), [other.personId]);
      const rest = await search(other.personId, 1, alone.next);
      assert.deepEqual([rest.people, rest.next], [[], null], "no one else starts with a cio_id, and the cio_id is not shown twice");
      assert.deepEqual((await search("nobody", 10)).people, []);
    });
  });
}
