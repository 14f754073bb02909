// The templates service on each database (SQLite; PostgreSQL when TEST_DATABASE_URL is set): the
// rules that need the store (unique aliases per workspace, the layout a template uses, the limit),
// isolation between workspaces, one lookup for a batch of renders, and push.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { TemplatesRepository } from "./templates.repository.js";
import { TemplatesService } from "./templates.service.js";
import { isPosthornError } from "../shared/errors.js";

for (const target of storeTargets()) {
  describe(`templates service (${target.name})`, () => {
    let store: Store;
    let templates: TemplatesService;
    let a: string;
    let b: string;
    let now = 1_700_000_000_000;

    before(async () => {
      store = await target.open();
      const clock = { now: () => now };
      const workspaces = new WorkspacesService({ store, clock });
      a = (await workspaces.create("a", { sandbox: true })).workspace.id;
      b = (await workspaces.create("b", { sandbox: true })).workspace.id;
      templates = new TemplatesService({ store, clock, repository: new TemplatesRepository() });
    });

    after(async () => {
      await store.close();
    });

    const code = (c: string) => (err: unknown) => isPosthornError(err, c);

    test("aliases are unique per workspace, not across workspaces; ids and aliases of another workspace are not found", async () => {
      const t = await templates.create(a, { name: "T", alias: "greet", subject: "Hi {{n}}", textBody: "Hello {{n}}" });
      await assert.rejects(templates.create(a, { name: "T2", alias: "greet", subject: "s", textBody: "t" }), code("TEMPLATE_FIELD_INVALID"));
      const other = await templates.create(b, { name: "T", alias: "greet", subject: "s", textBody: "t" });
      assert.notEqual(other.id, t.id);
      await assert.rejects(templates.get(b, { id: t.id }), code("TEMPLATE_NOT_FOUND"));
      await assert.rejects(templates.edit(b, { id: t.id }, { name: "x" }), code("TEMPLATE_NOT_FOUND"));
      await assert.rejects(templates.delete(b, { id: t.id }), code("TEMPLATE_NOT_FOUND"));
      assert.equal((await templates.get(a, { alias: "greet" })).id, t.id);
      const listed = await templates.list(b, { kind: null, layoutAlias: null }, { count: 10, offset: 0 });
      assert.deepEqual(listed.templates.map((x) => x.id), [other.id]);
    });

    test("a batch of renders looks templates and layouts up once, and fails only the items that are wrong", async () => {
      await templates.create(a, { name: "L", alias: "frame", kind: "layout", htmlBody: "<main>{{{@content}}}</main>", textBody: "[{{{@content}}}]" });
      const user = await templates.create(a, { name: "U", alias: "framed", subject: "S {{n}}", htmlBody: "<p>{{n}}</p>", layoutAlias: "frame" });
      now += 1000;
      const results = await templates.renderForSending(a, [
        { ref: { id: user.id }, model: { n: "1" }, inlineCss: true },
        { ref: { alias: "frame" }, model: {}, inlineCss: true },
        { ref: { alias: "missing" }, model: {}, inlineCss: true },
        { ref: { alias: "greet" }, model: { n: "<x>" }, inlineCss: true },
      ]);
      assert.deepEqual(results[0], { subject: "S 1", htmlBody: "<main><p>1</p></main>", textBody: "1" });
      assert.ok(isPosthornError(results[1], "TEMPLATE_FIELD_NOT_ALLOWED"));
      assert.ok(isPosthornError(results[2], "TEMPLATE_NOT_FOUND"));
      assert.deepEqual(results[3], { subject: "Hi <x>", htmlBody: null, textBody: "Hello <x>" });
      const fromB = await templates.renderForSending(b, [{ ref: { id: user.id }, model: {}, inlineCss: true }]);
      assert.ok(isPosthornError(fromB[0], "TEMPLATE_NOT_FOUND"), "another workspace cannot send with it");
    });

    test("an edit is seen by the next render (the parse cache follows changes)", async () => {
      await templates.edit(a, { alias: "greet" }, { subject: "Bye {{n}}" });
      const [r] = await templates.renderForSending(a, [{ ref: { alias: "greet" }, model: { n: "Ann" }, inlineCss: true }]);
      assert.equal((r as { subject: string }).subject, "Bye Ann");
    });

    test("layouts in use cannot be deleted; push creates then edits by alias", async () => {
      await assert.rejects(templates.delete(a, { alias: "frame" }), code("LAYOUT_IN_USE"));
      const preview = await templates.push(a, b, false);
      assert.deepEqual(preview.map((p) => [p.action, p.alias]), [["create", "frame"], ["edit", "greet"], ["create", "framed"]]);
      const done = await templates.push(a, b, true);
      assert.ok(done.every((p) => p.templateId !== null));
      assert.equal((await templates.get(b, { alias: "framed" })).layoutAlias, "frame");
      assert.deepEqual(await templates.push(a, b, true), [], "nothing left to change");
    });

    test("at most 100 templates per workspace", async () => {
      const existing = (await templates.list(a, { kind: null, layoutAlias: null }, { count: 500, offset: 0 })).total;
      for (let i = existing; i < 100; i++) await templates.create(a, { name: `n${i}`, subject: "s", textBody: "t" });
      await assert.rejects(templates.create(a, { name: "over", subject: "s", textBody: "t" }), code("TEMPLATE_LIMIT_REACHED"));
      await templates.create(b, { name: "Extra", alias: "extra", subject: "s", textBody: "t" });
      await assert.rejects(templates.push(b, a, false), code("TEMPLATE_LIMIT_REACHED"), "a push that would create one more");
    });
  });
}
