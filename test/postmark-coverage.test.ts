// Every method of the official postmark client (5.1.0: 59 of ServerClient, 26 of AccountClient)
// reaches a call Posthorn serves. Each is made with stand-in arguments (an id of 1, empty
// objects), so most are refused, but refused by the call itself (422, a 404 naming the record),
// never as a call that does not exist, and never with a 500: a wrong or empty input to any call
// is a clear error in Postmark's form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AccountClient, ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let serverToken: string;
let accountToken: string;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api" });
  serverToken = await server.createWorkspace("coverage");
  accountToken = await server.app.services.workspaces.createAccountToken();
});

after(() => server.close());

/** Stand-in arguments by the client's own parameter names. */
function argumentsFor(method: (...args: unknown[]) => unknown): unknown[] {
  const params = /^function\s*\(([^)]*)\)/.exec(method.toString())?.[1] ?? "";
  return params
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "" && p !== "callback")
    .map((name) => {
      if (name === "messageStream") return "outbound";
      if (/id|alias/i.test(name)) return "1";
      if (name === "emails" || name === "templates") return [];
      return {};
    });
}

for (const [family, Client, token] of [["ServerClient", ServerClient, () => serverToken], ["AccountClient", AccountClient, () => accountToken]] as const) {
  test(`every ${family} method reaches a call Posthorn serves, and none answers 500`, async () => {
    const client = new Client(token(), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 10 }) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const names = Object.getOwnPropertyNames(Client.prototype).filter((n) => n !== "constructor");
    // 85 in all (the issue counts 59 + 26; the prototypes hold 60 + 25).
    assert.equal(names.length, family === "ServerClient" ? 60 : 25);
    const wrong: string[] = [];
    for (const name of names) {
      const method = client[name]!;
      try {
        await method.apply(client, argumentsFor(method));
      } catch (err) {
        const { statusCode, message } = err as { statusCode?: number; message: string };
        if (statusCode === 501 || statusCode === 500 || statusCode === 0 || (statusCode === 404 && /^There is no API call/.test(message))) wrong.push(`${name}: ${statusCode} ${message}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
}
