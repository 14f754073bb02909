// The SMTP listeners' per-address caps and deadlines come from configuration, through the whole
// app (the submission listeners in their own thread, the MX listener in the main one).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { eventually } from "./support/eventually.js";
import { openSmtpDialog } from "../src/smtp/testing/smtp-dialog.js";
import { openSlowClient } from "../src/smtp/testing/slow-client.js";

let server: TestServer;

before(async () => {
  server = await startTestServer({
    POSTHORN_SMTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_SESSIONS_PER_CLIENT: "1",
    POSTHORN_SMTP_COMMAND_TIMEOUT: "300ms",
    POSTHORN_INBOUND_PORT: "0",
    POSTHORN_INBOUND_HOST: "127.0.0.1",
    POSTHORN_INBOUND_SESSIONS_PER_CLIENT: "1",
  });
});

after(() => server.close());

for (const listener of ["submission", "MX"] as const) {
  test(`the ${listener} listener takes POSTHORN_*_SESSIONS_PER_CLIENT and POSTHORN_SMTP_COMMAND_TIMEOUT from config`, async () => {
    const port = listener === "submission" ? server.app.smtp!.submission[0]!.port : server.app.smtp!.inbound!.port;
    const first = await openSmtpDialog(port);
    assert.match(first.greeting, /^220 /);
    const second = await openSmtpDialog(port);
    assert.match(second.greeting, /^421 4\.7\.0 /, "a second session from the same address is over the cap of 1");
    second.close();
    first.close();
    await first.closed;
    // The place is released when the server sees the session close; until then a new one is refused.
    const slow = await eventually(async () => openSlowClient(port).catch(() => null));
    slow.trickle("EHLO slow.test", 50);
    const closedAfter = await slow.closed;
    assert.match(slow.received, /421 4\.4\.2 /);
    assert.ok(closedAfter < 3_000, `closed after ${closedAfter} ms`);
  });
}
