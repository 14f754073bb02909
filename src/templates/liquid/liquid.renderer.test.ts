import { test } from "node:test";
import assert from "node:assert/strict";
import { LiquidRenderer } from "./liquid.renderer.js";
import { isPosthornError } from "../../shared/errors.js";

const liquid = new LiquidRenderer();

test("renders customer, event and trigger data with filters, and missing values as empty", async () => {
  const out = await liquid.render("Hi {{ customer.first_name | default: 'there' }}, cart {{ event.cart_id }} ({{ trigger.total | times: 2 }}){{ nothing.here }}", {
    customer: {},
    event: { cart_id: "c-1" },
    trigger: { total: 21 },
  });
  assert.equal(out, "Hi there, cart c-1 (42)");
  assert.equal(await liquid.render("{% if customer.plan == 'pro' %}pro{% else %}free{% endif %}", { customer: { plan: "pro" } }), "pro");
});

test("no prototype is reachable and no file can be included", async () => {
  assert.equal(await liquid.render("[{{ customer.constructor }}][{{ customer.__proto__ }}]", { customer: { a: 1 } }), "[][]");
  await assert.rejects(liquid.render("{% include '/etc/passwd' %}", {}), (err) => isPosthornError(err) && err.code.startsWith("LIQUID_"));
});

test("a syntax error names its line and column; an unknown filter is refused", async () => {
  await assert.rejects(liquid.render("line one\n{% if %}", {}), (err) => isPosthornError(err, "LIQUID_SYNTAX_INVALID") && err.details.line === 2);
  await assert.rejects(liquid.render("{{ 'x' | no_such_filter }}", {}), (err) => isPosthornError(err, "LIQUID_SYNTAX_INVALID") || isPosthornError(err, "LIQUID_RENDER_FAILED"));
});

test("a hostile template fails on its bounds instead of holding the process", async () => {
  const small = new LiquidRenderer({ maxRenderMs: 200, maxMemory: 100_000 });
  const started = Date.now();
  await assert.rejects(
    small.render("{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}", {}),
    (err) => isPosthornError(err, "LIQUID_RENDER_LIMIT"),
  );
  assert.ok(Date.now() - started < 5_000);
  await assert.rejects(new LiquidRenderer({ maxTemplateChars: 10 }).render("x".repeat(11), {}), (err) => isPosthornError(err, "LIQUID_RENDER_LIMIT"));
});
