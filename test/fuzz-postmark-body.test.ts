// Property-based tests of the parser that faces the internet on the HTTP side: the Postmark JSON
// body (issue 9, "Proof"). Whatever arrives, the answer is in protocol — a send result or a
// Postmark error body, never a 500 or a dropped connection — and the event loop is never blocked
// longer than the bound stated below.
//
// Two levels: the message parser and validation alone (many runs, fast), and real HTTP requests
// to a listening server, whose event loop (this process's: the test server runs in-process) is
// watched by monitorEventLoopDelay for the whole run.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import fc from "fast-check";
import { parsePostmarkMessage } from "../src/api/postmark/message.parser.js";
import { validateMessage } from "../src/messages/message.validation.js";
import { structuredSubmission } from "../src/messages/accept/submission.js";
import { isPosthornError } from "../src/shared/errors.js";
import { startTestServer, type TestServer } from "./support/server.js";

/** The longest the event loop may stall while the server handles one fuzzed request of at most ~64 KB. */
const EVENT_LOOP_BOUND_MS = 250;

/** A value of any JSON type, for any field. */
const anyField = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

const address = fc.oneof(
  fc.emailAddress(),
  fc.string({ maxLength: 60 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.emailAddress()).map(([name, email]) => `"${name}" <${email}>`),
  fc.array(fc.emailAddress(), { maxLength: 60 }).map((list) => list.join(", ")),
);

/** Postmark-shaped messages whose fields are sometimes right and sometimes anything at all. */
const message = fc.record(
  {
    From: fc.oneof(address, anyField),
    To: fc.oneof(address, anyField),
    Cc: fc.oneof(address, anyField),
    Bcc: fc.oneof(address, anyField),
    Subject: fc.oneof(fc.string({ maxLength: 200 }), anyField),
    TextBody: fc.oneof(fc.string({ maxLength: 500 }), anyField),
    HtmlBody: fc.oneof(fc.string({ maxLength: 500 }), anyField),
    Tag: fc.oneof(fc.string({ maxLength: 30 }), anyField),
    ReplyTo: fc.oneof(address, anyField),
    MessageStream: fc.oneof(fc.constantFrom("outbound", "inbound", "broadcast", ""), anyField),
    TrackOpens: anyField,
    TrackLinks: fc.oneof(fc.constantFrom("None", "HtmlAndText", "HtmlOnly", "TextOnly", "nope"), anyField),
    Headers: fc.oneof(fc.array(fc.record({ Name: fc.oneof(fc.string({ maxLength: 20 }), anyField), Value: fc.oneof(fc.string({ maxLength: 40 }), anyField) }), { maxLength: 5 }), anyField),
    Metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string({ maxLength: 20 }), anyField), { maxKeys: 5 }), anyField),
    Attachments: fc.oneof(
      fc.array(
        fc.record(
          {
            Name: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("a.pdf", "x.exe", "")),
            Content: fc.oneof(fc.base64String({ maxLength: 200 }), fc.string({ maxLength: 50 }), anyField),
            ContentType: fc.oneof(fc.constantFrom("application/pdf", "text/plain", "message/rfc822", "bad type"), anyField),
            ContentID: fc.oneof(fc.string({ maxLength: 20 }), anyField),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      anyField,
    ),
  },
  { requiredKeys: [] },
);

/** Bodies as bytes: JSON of messages or of anything, cut short, or not JSON at all. */
const body = fc.oneof(
  message.map((m) => JSON.stringify(m)),
  fc.array(message, { maxLength: 5 }).map((list) => JSON.stringify(list)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? "null"),
  message.chain((m) => {
    const text = JSON.stringify(m);
    return fc.nat({ max: text.length }).map((cut) => text.slice(0, cut));
  }),
  fc.nat({ max: 5_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);

describe("the Postmark message parser and validation", () => {
  test("any JSON value is read into a message or refused with a coded error, never a crash", () => {
    fc.assert(
      fc.property(fc.oneof(message, fc.jsonValue({ maxDepth: 4 })), (value) => {
        try {
          structuredSubmission(validateMessage(parsePostmarkMessage(value)));
        } catch (err) {
          assert.ok(isPosthornError(err), `not a coded error: ${(err as Error)?.stack ?? String(err)}`);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("POST /email and /email/batch under fuzzed bodies", () => {
  let server: TestServer;
  let token: string;
  const delay = monitorEventLoopDelay({ resolution: 10 });

  before(async () => {
    server = await startTestServer({ POSTHORN_ROLES: "api" });
    token = await server.createWorkspace("acme");
    delay.enable();
  });

  after(async () => {
    delay.disable();
    await server.close();
  });

  test("every answer is a send result or a Postmark error body, and the event loop stays within its bound", async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("/email", "/email/batch"), fc.constantFrom("real", "test", "json-less"), async (text, path, kind) => {
        const headers: Record<string, string> = { "X-Postmark-Server-Token": kind === "test" ? "POSTMARK_API_TEST" : token };
        if (kind !== "json-less") headers["Content-Type"] = "application/json";
        const response = await fetch(server.url + path, { method: "POST", headers, body: text });
        const answer = (await response.json()) as unknown;
        assert.ok([200, 413, 422].includes(response.status), `status ${response.status}: ${JSON.stringify(answer)}`);
        const results = response.status === 200 && Array.isArray(answer) ? answer : [answer];
        for (const result of results) {
          const r = result as Record<string, unknown>;
          assert.equal(typeof r.ErrorCode, "number", JSON.stringify(answer));
          assert.equal(typeof r.Message, "string", JSON.stringify(answer));
          if (response.status === 200 && r.ErrorCode === 0) assert.equal(typeof r.MessageID, "string");
        }
      }),
      { numRuns: 400 },
    );
    const health = await fetch(server.url + "/healthz");
    assert.equal(health.status, 200);
    const worstMs = delay.max / 1e6;
    assert.ok(worstMs < EVENT_LOOP_BOUND_MS, `the event loop stalled for ${worstMs.toFixed(1)} ms`);
  });
});
