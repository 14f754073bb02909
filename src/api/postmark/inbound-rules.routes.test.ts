// The inbound rules API (Postmark's inbound rule triggers) driven by the official postmark client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startInboundApi, type InboundApi, type TestWorkspace } from "./testing/inbound-api.js";
import { failure } from "./testing/client-failure.js";

describe("Postmark inbound rules API (ServerClient)", () => {
  let api: InboundApi;
  let acme: TestWorkspace;
  let globex: TestWorkspace;

  before(async () => {
    api = await startInboundApi();
    acme = await api.createWorkspace("acme");
    globex = await api.createWorkspace("globex");
  });

  after(async () => {
    await api.close();
  });

  test("create, list, page and delete rules", async () => {
    const address = await acme.client.createInboundRuleTrigger({ Rule: " Someone@Example.test " });
    assert.equal(typeof address.ID, "number");
    assert.deepEqual(address, { ID: address.ID, Rule: "someone@example.test" });
    const domain = await acme.client.createInboundRuleTrigger({ Rule: "baddomain.test" });

    const listed = await acme.client.getInboundRuleTriggers();
    assert.deepEqual(listed, {
      TotalCount: 2,
      InboundRules: [
        { ID: address.ID, Rule: "someone@example.test" },
        { ID: domain.ID, Rule: "baddomain.test" },
      ],
    });
    const page = await acme.client.getInboundRuleTriggers({ count: 1, offset: 1 });
    assert.deepEqual(page, { TotalCount: 2, InboundRules: [{ ID: domain.ID, Rule: "baddomain.test" }] });

    const removed = await acme.client.deleteInboundRuleTrigger(address.ID);
    assert.deepEqual(removed, { ErrorCode: 0, Message: "Rule someone@example.test removed." });
    assert.deepEqual((await acme.client.getInboundRuleTriggers()).InboundRules, [{ ID: domain.ID, Rule: "baddomain.test" }]);

    const gone = await failure(acme.client.deleteInboundRuleTrigger(address.ID));
    assert.deepEqual([gone.name, gone.statusCode, gone.code, gone.message], ["ApiInputError", 422, 812, `No inbound rule with id ${address.ID}.`]);
  });

  test("refuses a rule that is neither an address nor a domain, and a rule that exists", async () => {
    for (const Rule of ["not a rule", "", "@example.test", "example", 42, null]) {
      const bad = await failure(acme.client.createInboundRuleTrigger({ Rule } as { Rule: string }));
      assert.deepEqual([bad.statusCode, bad.code], [422, 813], String(Rule));
      assert.match(bad.message, /use an email address or a domain name/);
    }
    const noBody = await fetch(`${api.baseUrl}/triggers/inboundRules`, {
      method: "POST",
      headers: { "X-Postmark-Server-Token": acme.token, Accept: "application/json", "Content-Type": "application/json" },
    });
    assert.equal(noBody.status, 422);
    assert.equal(((await noBody.json()) as { ErrorCode: number }).ErrorCode, 813);

    await acme.client.createInboundRuleTrigger({ Rule: "dup.test" });
    const dup = await failure(acme.client.createInboundRuleTrigger({ Rule: "DUP.test" }));
    assert.deepEqual([dup.statusCode, dup.code, dup.message], [422, 810, "The inbound rule 'dup.test' already exists."]);
  });

  test("rules belong to one workspace", async () => {
    const rule = await acme.client.createInboundRuleTrigger({ Rule: "private.test" });
    assert.ok(!(await globex.client.getInboundRuleTriggers()).InboundRules.some((r) => r.ID === rule.ID));
    const other = await failure(globex.client.deleteInboundRuleTrigger(rule.ID));
    assert.deepEqual([other.statusCode, other.code], [422, 812]);
    // The same rule text may exist in another workspace.
    assert.equal((await globex.client.createInboundRuleTrigger({ Rule: "private.test" })).Rule, "private.test");
    assert.ok((await acme.client.getInboundRuleTriggers()).InboundRules.some((r) => r.ID === rule.ID));
  });

  test("paging limits, a non-numeric id, and the docs' lower-case path", async () => {
    const bad = await failure(acme.client.getInboundRuleTriggers({ count: 501 }));
    assert.deepEqual([bad.statusCode, bad.code, bad.message], [422, 300, "'count' must be between 1 and 500."]);
    const headers = { "X-Postmark-Server-Token": acme.token, Accept: "application/json" };
    const zero = await fetch(`${api.baseUrl}/triggers/inboundRules?count=0`, { headers }); // the client would send 100
    assert.equal(zero.status, 422);
    // No count + offset window for rules (Postmark documents none).
    assert.equal((await acme.client.getInboundRuleTriggers({ count: 500, offset: 20_000 })).InboundRules.length, 0);
    assert.equal((await acme.client.getInboundRuleTriggers({ count: 500, offset: Number.MAX_SAFE_INTEGER - 500 })).InboundRules.length, 0);
    const huge = await failure(acme.client.getInboundRuleTriggers({ count: 500, offset: Number.MAX_SAFE_INTEGER }));
    assert.deepEqual([huge.statusCode, huge.code], [422, 300]);
    const notNumber = await fetch(`${api.baseUrl}/triggers/inboundRules/abc`, { method: "DELETE", headers });
    assert.equal(notNumber.status, 422);
    assert.deepEqual(await notNumber.json(), { ErrorCode: 812, Message: "No inbound rule with id 'abc'." });

    const lower = await fetch(`${api.baseUrl}/triggers/inboundrules?count=500&offset=0`, { headers });
    assert.equal(lower.status, 200);
    assert.equal(((await lower.json()) as { TotalCount: number }).TotalCount, (await acme.client.getInboundRuleTriggers()).TotalCount);
  });
});
