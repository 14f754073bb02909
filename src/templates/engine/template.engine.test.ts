// The Mustachio engine: parsing with positioned errors, rendering (escaping, scopes, lists), its
// safety against hostile models, its limits, and model inference.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseTemplate } from "./template.parser.js";
import { renderTemplate, type RenderBudget } from "./template.renderer.js";
import { ModelInference } from "./model.inference.js";
import { isPosthornError } from "../../shared/errors.js";

function render(source: string, model: unknown, content?: string): string {
  const parsed = parseTemplate(source);
  assert.deepEqual(parsed.errors, [], `template ${source} should parse`);
  return renderTemplate(parsed.nodes, model, { content });
}

describe("rendering", () => {
  test("{{ x }} escapes HTML; {{{ x }}} and {{& x }} do not; whitespace inside tags is ignored", () => {
    const model = { name: `<b>"Tom" & 'Jerry'</b>` };
    assert.equal(render("{{name}}", model), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
    assert.equal(render("{{{ name }}}|{{&name}}|{{&  name  }}", model), `${model.name}|${model.name}|${model.name}`);
    assert.equal(render("Hi {{   name   }}!", { name: "Ann" }), "Hi Ann!");
  });

  test("dotted paths, numbers and booleans print; objects, lists and absent values print nothing", () => {
    const model = { person: { first: "Ann", age: 42, vip: true, tags: ["a"], address: { city: "Oslo" } } };
    assert.equal(render("{{person.first}} {{person.age}} {{person.vip}} [{{person.tags}}] [{{person.address}}] [{{person.missing.deeper}}] [{{nothing}}]", model), "Ann 42 true [] [] [] []");
  });

  test("a section scopes into an object, iterates a list, and tests truthiness", () => {
    assert.equal(render("{{#person}}{{first}} of {{city}}{{/person}}", { person: { first: "Ann", city: "Oslo" } }), "Ann of Oslo");
    assert.equal(render("{{#items}}<{{name}}>{{/items}}", { items: [{ name: "a" }, { name: "b" }] }), "<a><b>");
    for (const falsy of [false, null, 0, "", []]) assert.equal(render("[{{#x}}shown{{/x}}]", { x: falsy }), "[]", `falsy: ${JSON.stringify(falsy)}`);
    assert.equal(render("[{{#x}}shown{{/x}}]", {}), "[]");
    assert.equal(render("[{{#x}}{{.}}{{/x}}]", { x: "scalar" }), "[scalar]");
  });

  test("an inverted section renders for falsy values and empty lists only", () => {
    assert.equal(render("{{^items}}none{{/items}}", { items: [] }), "none");
    assert.equal(render("{{^items}}none{{/items}}", {}), "none");
    assert.equal(render("{{^items}}none{{/items}}", { items: [1] }), "");
    assert.equal(render("{{^ok}}no{{/ok}}", { ok: true }), "");
  });

  test("each iterates with {{.}} and this, reaches outer scopes with ../, and if/else keeps the scope", () => {
    const model = { shop: "Acme", items: [{ name: "pen", tags: ["x", "y"] }, { name: "ink", tags: [] }] };
    const source = "{{#each items}}{{name}}@{{../shop}}:{{#each tags}}{{.}}{{this}}({{../name}}/{{../../shop}}){{/each}}{{#if tags}}+{{else}}-{{/if}};{{/each}}";
    assert.equal(render(source, model), "pen@Acme:xx(pen/Acme)yy(pen/Acme)+;ink@Acme:-;");
    assert.equal(render("{{#each items}}{{this.name}} {{/each}}", model), "pen ink ");
    assert.equal(render("{{#each items}}x{{else}}empty{{/each}}", { items: [] }), "empty");
    assert.equal(render("{{#each items}}x{{/items}}", { items: [1] }), "x", "closing by the list's name works too");
  });

  test("names are looked up in the current scope only, as Mustachio does; ../ past the root is nothing", () => {
    assert.equal(render("{{#person}}[{{shop}}][{{../shop}}][{{../../shop}}]{{/person}}", { shop: "Acme", person: { name: "Ann" } }), "[][Acme][]");
  });

  test("the layout slot {{{ @content }}} shows the wrapped body, unescaped", () => {
    assert.equal(render("<main>{{{ @content }}}</main>", {}, "<p>Hi</p>"), "<main><p>Hi</p></main>");
    assert.equal(render("[{{{@content}}}]", {}), "[]");
  });

  test("a hostile model reaches no prototype and runs nothing", () => {
    const model = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {}}');
    const source = "[{{__proto__.polluted}}][{{a.constructor}}][{{a.constructor.name}}][{{a.__proto__}}][{{a.toString}}][{{a.hasOwnProperty}}][{{#a.constructor}}x{{/a.constructor}}][{{items.length}}]";
    assert.equal(render(source, { ...model, items: [1, 2] }), "[][][][][][][][]");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    let called = false;
    const withFunction = { f: () => { called = true; return "ran"; } };
    assert.equal(render("[{{f}}][{{#f}}x{{/f}}]", withFunction), "[][]");
    assert.equal(called, false);
  });

  test("output and work are capped with a clear error instead of hanging", () => {
    const big = parseTemplate("{{#each a}}{{#each ../a}}{{#each ../../a}}x{{/each}}{{/each}}{{/each}}");
    const a = Array.from({ length: 200 }, (_, i) => i);
    assert.throws(() => renderTemplate(big.nodes, { a }), (err) => isPosthornError(err, "TEMPLATE_RENDER_LIMIT") && /steps/.test(err.message));
    const long = parseTemplate("{{#each a}}{{{s}}}{{/each}}");
    assert.throws(
      () => renderTemplate(long.nodes, { a: Array(20).fill({ s: "y".repeat(100) }) }, { limits: { maxOutputChars: 1000, maxSteps: 1e6 } }),
      (err) => isPosthornError(err, "TEMPLATE_RENDER_LIMIT") && /1000 characters/.test(err.message),
    );
  });
});

describe("a budget shared by the renders of one request", () => {
  test("renders within it pass; the one that exhausts it fails, and so do those after it", () => {
    const { nodes } = parseTemplate("{{#each a}}{{.}}{{/each}}");
    const budget: RenderBudget = { steps: 250, chars: 1_000_000 };
    const model = { a: Array.from({ length: 50 }, (_, i) => i) };
    assert.equal(renderTemplate(nodes, model, { budget }).length, 90);
    assert.equal(renderTemplate(nodes, model, { budget }).length, 90);
    assert.throws(() => renderTemplate(nodes, model, { budget }), (err) => isPosthornError(err, "TEMPLATE_RENDER_LIMIT") && /this request/.test(err.message));
    assert.throws(() => renderTemplate(nodes, { a: [1] }, { budget }), (err) => isPosthornError(err, "TEMPLATE_RENDER_LIMIT"));
    const chars: RenderBudget = { steps: 1e6, chars: 100 };
    assert.throws(() => renderTemplate(parseTemplate("{{{s}}}").nodes, { s: "x".repeat(101) }, { budget: chars }), (err) => isPosthornError(err, "TEMPLATE_RENDER_LIMIT"));
  });
});

describe("parsing errors", () => {
  test("an unclosed section is reported at its opening tag, with line and character", () => {
    const { errors } = parseTemplate("Hello\n  {{#items}}x\nend");
    assert.deepEqual(errors, [{ message: "The block '{{#items}}' is never closed.", line: 2, character: 3 }]);
  });

  test("a mismatched or stray close, an unclosed tag, an empty tag and a bad name are each reported", () => {
    assert.deepEqual(parseTemplate("{{#a}}{{/b}}{{/a}}").errors.map((e) => [e.line, e.character, e.message]), [[1, 7, "'{{/b}}' does not match the open block '{{#a}}'."]]);
    assert.deepEqual(parseTemplate("x{{/a}}").errors.map((e) => [e.line, e.character]), [[1, 2]]);
    assert.match(parseTemplate("a\nb {{ name").errors[0]!.message, /never closed/);
    assert.deepEqual(parseTemplate("a\nb {{ name").errors.map((e) => [e.line, e.character]), [[2, 3]]);
    assert.match(parseTemplate("{{ }}").errors[0]!.message, /empty/);
    assert.match(parseTemplate("{{ first name }}").errors[0]!.message, /not a valid value name/);
    assert.match(parseTemplate("{{#each}}{{/each}}").errors[0]!.message, /names no value/);
    assert.match(parseTemplate("{{else}}").errors[0]!.message, /else/);
  });

  test("nesting deeper than the limit is refused", () => {
    const deep = "{{#a}}".repeat(70) + "{{/a}}".repeat(70);
    assert.ok(parseTemplate(deep).errors.some((e) => /nested at most/.test(e.message)));
  });

  test("comments are dropped", () => {
    assert.equal(render("a{{! a note }}b", {}), "ab");
  });
});

describe("model inference", () => {
  test("scalars, objects from dotted paths and sections, lists from each, ../ to the outer scope", () => {
    const nodes = parseTemplate("{{name}} {{company.address.city}} {{#person}}{{first}}{{/person}} {{#each items}}{{sku}} {{../currency}}{{/each}} {{#each tags}}{{.}}{{/each}} {{^vip}}x{{/vip}}").nodes;
    assert.deepEqual(new ModelInference().add(nodes).model(), {
      name: "name_Value",
      company: { address: { city: "city_Value" } },
      person: { first: "first_Value" },
      items: [{ sku: "sku_Value" }],
      currency: "currency_Value",
      tags: ["tags_Value"],
      vip: "vip_Value",
    });
  });

  test("several parts add to one model; the layout slot is not part of it", () => {
    const model = new ModelInference().add(parseTemplate("{{subject_line}}").nodes).add(parseTemplate("{{{@content}}} {{product.name}}").nodes).model();
    assert.deepEqual(model, { subject_line: "subject_line_Value", product: { name: "name_Value" } });
  });
});
