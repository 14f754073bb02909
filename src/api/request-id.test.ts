import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { requestIdGenerator } from "./request-id.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const request = (id?: string) => ({ headers: id === undefined ? {} : { "x-request-id": id } }) as unknown as IncomingMessage;

test("an incoming X-Request-Id is ignored unless trusted: each request gets a new UUID", () => {
  const generate = requestIdGenerator(false);
  const first = generate(request("from-the-client"));
  assert.match(first, UUID);
  assert.notEqual(generate(request("from-the-client")), first);
});

test("a trusted incoming X-Request-Id is taken when it looks like an id, and replaced when it does not", () => {
  const generate = requestIdGenerator(true);
  assert.equal(generate(request("01HZX3K9Q7-proxy.id:42_a")), "01HZX3K9Q7-proxy.id:42_a");
  for (const bad of ["", "two words", 'quote"d', "line\nbreak", "x".repeat(129), "ünïcode", "{\"json\":1}"]) assert.match(generate(request(bad)), UUID, JSON.stringify(bad));
  assert.match(generate(request()), UUID);
});
