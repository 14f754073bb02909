import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import Fastify from "fastify";
import { lazySchemaCompilers } from "./schema-compilers.js";

// CommonJS's module cache is one for the process: what Fastify required is listed there.
const loaded = (pkg: string) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${pkg}/`));

test("a server whose routes declare no JSON schema never loads Ajv or fast-json-stringify", async () => {
  const app = Fastify({ schemaController: { compilersFactory: lazySchemaCompilers() } });
  app.post("/plain", async (request) => ({ got: request.body }));
  await app.ready();
  const answer = await app.inject({ method: "POST", url: "/plain", payload: { a: 1 } });
  assert.deepEqual(answer.json(), { got: { a: 1 } });
  assert.equal(loaded("ajv"), false, "Ajv was loaded");
  // (Fastify's error serializer uses one small file of fast-json-stringify: not its compiler.)
  assert.equal(loaded("@fastify/fast-json-stringify-compiler"), false, "the serializer compiler was loaded");
  await app.close();
});

test("a route that does declare schemas gets Fastify's own validation and serialization", async () => {
  const app = Fastify({ schemaController: { compilersFactory: lazySchemaCompilers() } });
  app.post(
    "/typed",
    {
      schema: {
        body: { type: "object", required: ["n"], properties: { n: { type: "integer" } } },
        response: { 200: { type: "object", properties: { n: { type: "integer" } } } },
      },
    },
    async (request) => ({ n: (request.body as { n: number }).n, notInTheSchema: true }),
  );
  await app.ready();
  const refused = await app.inject({ method: "POST", url: "/typed", payload: { n: "many" } });
  assert.equal(refused.statusCode, 400);
  assert.match(refused.json().message, /body\/n must be integer/);
  const served = await app.inject({ method: "POST", url: "/typed", payload: { n: 3 } });
  assert.deepEqual(served.json(), { n: 3 }, "the response schema leaves out what it does not list");
  assert.equal(loaded("ajv"), true);
  assert.equal(loaded("@fastify/fast-json-stringify-compiler"), true);
  await app.close();
});
