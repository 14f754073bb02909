// The HTTP edge against hostile and careless clients, over real sockets to a listening server:
// credentials before bodies, body limits and the body budget, request timeouts, JSON nesting, and
// every refusal in Postmark's error form (issue 9, items 1-3 and 5).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { AccountClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { eventually } from "./support/eventually.js";

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
  /** Milliseconds from the first byte written to the answer. */
  ms: number;
}

function portOf(server: TestServer): number {
  return Number(new URL(server.url).port);
}

/**
 * Writes `head` (and then `drip`, if given, one piece at a time every `dripMs`) on a raw socket and
 * resolves with the first HTTP answer, or with null when none came within `waitMs`.
 */
function rawRequest(server: TestServer, head: string | Buffer, options: { drip?: string; dripMs?: number; waitMs?: number } = {}): Promise<RawAnswer | null> {
  return new Promise((resolve) => {
    const socket: Socket = connect(portOf(server), "127.0.0.1");
    const started = Date.now();
    let received = "";
    let answer: RawAnswer | null = null;
    let drip: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(drip);
      clearTimeout(limit);
      socket.destroy();
      resolve(answer);
    };
    const limit = setTimeout(finish, options.waitMs ?? 10_000);
    socket.on("error", () => undefined);
    socket.write(head);
    if (options.drip) {
      let i = 0;
      drip = setInterval(() => {
        if (i < options.drip!.length && socket.writable) socket.write(options.drip![i++]!);
      }, options.dripMs ?? 200);
    }
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0 || answer) return;
      const headers = received.slice(0, end);
      const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
      if (received.length - end - 4 < length) return;
      answer = {
        status: Number(headers.split(" ")[1]),
        headers,
        body: received.slice(end + 4, end + 4 + length),
        closed: false,
        ms: Date.now() - started,
      };
      // Give the server a moment to close, then report what it did.
      setTimeout(finish, 200);
    });
    socket.on("close", () => {
      if (answer) answer.closed = true;
      finish();
    });
  });
}

function post(path: string, headers: Record<string, string>, length: number): string {
  const lines = Object.entries({ Host: "posthorn.test", "Content-Type": "application/json", "Content-Length": String(length), ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

async function fetchJson(server: TestServer, path: string, init: RequestInit = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(server.url + path, init);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("the HTTP edge", () => {
  let server: TestServer;
  let token: string;
  let accountToken: string;

  before(async () => {
    server = await startTestServer({ POSTHORN_ROLES: "api", POSTHORN_HTTP_REQUEST_TIMEOUT: "1s" });
    token = await server.createWorkspace("acme");
    accountToken = await server.app.services.workspaces.createAccountToken();
  });

  after(async () => {
    await server.close();
  });

  describe("credentials before bodies", () => {
    test("a request without a token is refused before its body is read, and its connection closed", async () => {
      // 50 MB announced, 10 bytes sent: the answer cannot have waited for the body.
      const answer = await rawRequest(server, post("/email/batch", {}, 50_000_000) + "[[[[[[[[[[");
      assert.ok(answer, "an answer came without the body");
      assert.equal(answer.status, 401);
      assert.deepEqual(JSON.parse(answer.body), { ErrorCode: 10, Message: "Request does not contain a valid Server token." });
      assert.equal(answer.closed, true);
    });

    test("so is a request with a wrong token, and one to a path that is no call", async () => {
      for (const path of ["/email", "/no/such/call", "/bounces"]) {
        const answer = await rawRequest(server, post(path, { "X-Postmark-Server-Token": "wrong" }, 50_000_000) + "{");
        assert.equal(answer?.status, 401, path);
        assert.equal(JSON.parse(answer!.body).ErrorCode, 10, path);
      }
    });

    test("the account API refuses a missing account token before the body too", async () => {
      const answer = await rawRequest(server, post("/domains", {}, 50_000_000) + "{");
      assert.equal(answer?.status, 401);
      assert.deepEqual(JSON.parse(answer!.body), { ErrorCode: 10, Message: "Request does not contain a valid Account token." });
    });
  });

  describe("bodies", () => {
    test("JSON nested deeper than 64 levels is refused as invalid JSON without parsing it", async () => {
      const nested = "[".repeat(8 * 1024 * 1024);
      const { status, json } = await fetchJson(server, "/email/batch", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
        body: nested,
      });
      assert.equal(status, 422);
      assert.equal(json.ErrorCode, 402);
      assert.match(String(json.Message), /deeper than 64 levels/);
    });

    test("nesting inside strings does not count, and Postmark's shapes pass", async () => {
      const { status, json } = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
        body: JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "[".repeat(100), TextBody: "{".repeat(1000), Metadata: { k: "]]]" } }),
      });
      assert.equal(status, 200, JSON.stringify(json));
    });

    test("the test token may send at most 1 MB, announced or chunked", async () => {
      const big = JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "x".repeat(1_100_000) });
      const announced = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": "POSTMARK_API_TEST" },
        body: big,
      });
      assert.equal(announced.status, 413);
      assert.equal(announced.json.ErrorCode, 300);
      assert.match(String(announced.json.Message), /test token/);

      const chunked = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": "POSTMARK_API_TEST" },
        body: new Blob([big]).stream(),
        duplex: "half",
      } as RequestInit);
      assert.equal(chunked.status, 413);

      // A real token may send the same message (12 MB for one message).
      const real = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
        body: big,
      });
      assert.equal(real.status, 200, JSON.stringify(real.json));
    });

    test("calls other than sending take at most 1 MB", async () => {
      const { status, json } = await fetchJson(server, "/server", {
        method: "PUT",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
        body: JSON.stringify({ Name: "x".repeat(1_100_000) }),
      });
      assert.equal(status, 413);
      assert.equal(json.ErrorCode, 300);
    });

    test("while large bodies fill the budget, another large body gets 429 at once; small ones pass", async (t) => {
      // A server whose request timeout does not end the held request during the test.
      const server = await startTestServer({ POSTHORN_ROLES: "api", POSTHORN_HTTP_BODY_BUDGET: String(3 * 1024 * 1024) });
      t.after(() => server.close());
      const token = await server.createWorkspace("acme");
      // 2.5 MB announced and held open (the budget is 3 MB).
      const holder = connect(portOf(server), "127.0.0.1");
      holder.on("error", () => undefined);
      holder.write(post("/email/batch", { "X-Postmark-Server-Token": token }, 2_500_000) + "[");
      try {
        await eventually(async () => {
          const answer = await rawRequest(server, post("/email/batch", { "X-Postmark-Server-Token": token }, 2_000_000) + "[");
          assert.equal(answer?.status, 429);
          assert.deepEqual(JSON.parse(answer!.body), { ErrorCode: 429, Message: "Too many large requests are being received at once; retry shortly." });
          return true;
        });
        const small = await fetchJson(server, "/email", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
          body: JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t" }),
        });
        assert.equal(small.status, 200);
      } finally {
        holder.destroy();
      }
      // The held bytes are released with the connection: a large body is admitted again.
      await eventually(async () => {
        const { status, json } = await fetchJson(server, "/email/batch", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
          body: JSON.stringify([{ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "y".repeat(2_000_000) }]),
        });
        assert.equal(status, 200, JSON.stringify(json));
        return true;
      });
    });

    test("a non-JSON body, text/plain included, is refused with 409 as docs/api.md says", async () => {
      const { status, json } = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "text/plain", "X-Postmark-Server-Token": token },
        body: "hello",
      });
      assert.equal(status, 422);
      assert.equal(json.ErrorCode, 409);
    });
  });

  describe("slow clients", () => {
    test("a body trickled byte by byte is cut off at the request timeout with 408", async () => {
      const answer = await rawRequest(server, post("/email", { "X-Postmark-Server-Token": token }, 100) + "{", { drip: " ".repeat(99), dripMs: 300, waitMs: 8_000 });
      assert.ok(answer, "the server answered");
      assert.equal(answer.status, 408);
      assert.deepEqual(Object.keys(JSON.parse(answer.body)), ["ErrorCode", "Message"]);
      assert.equal(answer.closed, true);
      assert.ok(answer.ms < 5_000, `cut off after ${answer.ms} ms`);
    });

    test("so are headers trickled without a token", async () => {
      const answer = await rawRequest(server, "POST /email HTTP/1.1\r\nHost: x\r\n", { drip: "X-Slow: " + "a".repeat(60), dripMs: 300, waitMs: 8_000 });
      assert.equal(answer?.status, 408);
      assert.equal(answer?.closed, true);
    });
  });

  describe("every refusal in Postmark's form, after authentication", () => {
    test("a path that is no call: 401 without a token, 404 with one, in any method", async () => {
      assert.deepEqual(await fetchJson(server, "/nope"), { status: 401, json: { ErrorCode: 10, Message: "Request does not contain a valid Server token." } });
      for (const method of ["GET", "POST", "DELETE", "PATCH"]) {
        const { status, json } = await fetchJson(server, "/nope", { method, headers: { "X-Postmark-Server-Token": token } });
        assert.equal(status, 404, method);
        assert.deepEqual(json, { ErrorCode: 0, Message: `There is no API call ${method} /nope.` });
      }
      // A route with the wrong method is no call either.
      const wrongMethod = await fetchJson(server, "/email", { headers: { "X-Postmark-Server-Token": token } });
      assert.equal(wrongMethod.status, 404);
      assert.equal(wrongMethod.json.ErrorCode, 0);
    });

    test("a DELETE without a body to a missing route is a 404, not a body error", async () => {
      const { status, json } = await fetchJson(server, "/nope/1", { method: "DELETE", headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token } });
      assert.equal(status, 404);
      assert.equal(json.ErrorCode, 0);
    });

    test("the account calls are judged by the account token, before anything else", async () => {
      const host = server.url.replace(/^http:\/\//, "");
      await assert.rejects(new AccountClient("wrong", { useHttps: false, requestHost: host, timeout: 10 }).getSenderSignatures(), { statusCode: 401, code: 10 });
      await assert.rejects(new AccountClient(accountToken, { useHttps: false, requestHost: host, timeout: 10 }).getServer(424242), { statusCode: 422, code: 601 });
    });

    test("headers too large (431), a path segment too long (414) and a malformed request (400)", async () => {
      const huge = await fetch(server.url + "/messages/outbound", { headers: { "X-Postmark-Server-Token": token, "X-Big": "a".repeat(20_000) } });
      assert.equal(huge.status, 431);
      assert.deepEqual(Object.keys((await huge.json()) as object), ["ErrorCode", "Message"]);

      const long = `/messages/outbound/${"a".repeat(600)}/details`;
      const tooLong = await fetchJson(server, long, { headers: { "X-Postmark-Server-Token": token } });
      assert.equal(tooLong.status, 414);
      assert.equal(tooLong.json.ErrorCode, 0);
      assert.equal((await fetchJson(server, long)).status, 401);

      const malformed = await rawRequest(server, "GARBAGE\r\n\r\n");
      assert.equal(malformed?.status, 400);
      assert.deepEqual(Object.keys(JSON.parse(malformed!.body)), ["ErrorCode", "Message"]);
    });
  });

  describe("Postmark's details", () => {
    test("the test token answers 'Test job accepted'", async () => {
      const { status, json } = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": "POSTMARK_API_TEST" },
        body: JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t" }),
      });
      assert.equal(status, 200);
      assert.equal(json.Message, "Test job accepted");
      assert.equal(json.ErrorCode, 0);
    });

    test("the answer's To keeps display names, and custom headers keep each their own spelling", async () => {
      const { json } = await fetchJson(server, "/email", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
        body: JSON.stringify({
          From: "a@acme.test",
          To: '"Doe, John" <john@example.org>, Ann Lee <ann@example.org>, bare@example.org',
          Subject: "s",
          TextBody: "t",
          Headers: [
            { Name: "X-Dup", Value: "1" },
            { Name: "x-dup", Value: "2" },
            { Name: "X-MiXed-Case", Value: "3" },
          ],
        }),
      });
      assert.equal(json.To, '"Doe, John" <john@example.org>, Ann Lee <ann@example.org>, bare@example.org');
      const dump = await fetchJson(server, `/messages/outbound/${String(json.MessageID)}/dump`, { headers: { "X-Postmark-Server-Token": token } });
      const head = String(dump.json.Body).split("\r\n\r\n")[0]!;
      assert.match(head, /^X-Dup: 1$/m);
      assert.match(head, /^x-dup: 2$/m);
      assert.match(head, /^X-MiXed-Case: 3$/m);
    });

    test("a custom Message-ID is kept when well formed and refused clearly otherwise", async () => {
      const send = (value: string) =>
        fetchJson(server, "/email", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Postmark-Server-Token": token },
          body: JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t", Headers: [{ Name: "Message-ID", Value: value }] }),
        });
      const kept = await send("<thread-1@acme.test>");
      const dump = await fetchJson(server, `/messages/outbound/${String(kept.json.MessageID)}/dump`, { headers: { "X-Postmark-Server-Token": token } });
      assert.match(String(dump.json.Body), /^Message-ID: <thread-1@acme\.test>$/m);
      const refused = await send("no-brackets");
      assert.equal(refused.status, 422);
      assert.equal(refused.json.ErrorCode, 300);
      assert.match(String(refused.json.Message), /Message-ID/);
    });
  });
});
