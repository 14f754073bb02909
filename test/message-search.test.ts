// Searching messages by subject and sender over the Postmark API treats the user's text literally:
// LIKE's wildcards `%` and `_` (and the escape character) match only themselves (issue 9, item 4).
// On SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";

const SUBJECTS = ["order_123", "order-123", "orderX123", "100% off", "back\\slash", "plain"];

for (const target of serverDatabases()) {
  describe(`searching outbound messages (${target.name})`, () => {
    let server: TestServer;
    let token: string;
    let drop: () => Promise<void>;

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      server = await startTestServer({ POSTHORN_ROLES: "api", ...database.env });
      // The server runs on the database this suite names (a misspelt key would fall back to SQLite).
      assert.equal(server.app.services.store.dialect, target.name);
      token = await server.createWorkspace("acme");
      for (const [i, subject] of SUBJECTS.entries()) {
        const response = await fetch(`${server.url}/email`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
          body: JSON.stringify({ From: i === 0 ? "sales_team@acme.test" : "salesXteam@acme.test", To: "b@example.test", Subject: subject, TextBody: "t" }),
        });
        assert.equal(response.status, 200);
      }
    });

    after(async () => {
      await server.close();
      await drop();
    });

    async function subjectsFound(query: string): Promise<string[]> {
      const response = await fetch(`${server.url}/messages/outbound?count=50&offset=0&${query}`, { headers: { "X-Postmark-Server-Token": token } });
      const body = (await response.json()) as { Messages: Array<{ Subject: string }> };
      return body.Messages.map((m) => m.Subject).sort();
    }

    test("an underscore matches only an underscore", async () => {
      assert.deepEqual(await subjectsFound("subject=order_123"), ["order_123"]);
      assert.deepEqual(await subjectsFound("subject=_"), ["order_123"]);
    });

    test("a percent sign matches only a percent sign", async () => {
      assert.deepEqual(await subjectsFound("subject=%25"), ["100% off"]);
      assert.deepEqual(await subjectsFound("subject=100%25"), ["100% off"]);
    });

    test("a backslash matches only a backslash", async () => {
      assert.deepEqual(await subjectsFound("subject=%5C"), ["back\\slash"]);
    });

    test("ordinary text still matches anywhere in the subject, and in the sender", async () => {
      assert.deepEqual(await subjectsFound("subject=123"), ["order-123", "orderX123", "order_123"].sort());
      assert.deepEqual(await subjectsFound("fromemail=sales_team"), ["order_123"]);
    });
  });
}
