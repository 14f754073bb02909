// Read time end to end: an open pixel fetched as a mail client does (node:http, the connection
// held while "the message is shown") keeps loading as an animated GIF, and the time until the
// reader leaves becomes the open's ReadSeconds and a bucket of the read-times stats; a reader who
// stays is measured up to the limit ("3s+"); proxies get the plain pixel and no read time; at most
// POSTHORN_TRACKING_READ_HOLD_MAX pixels are held; a shutdown ends held pixels at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { eventually } from "./support/eventually.js";

const OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/** The plain pixel's length: the one-frame transparent GIF. */
const PLAIN_PIXEL_BYTES = 42;

let server: TestServer;
let client: ServerClient;

before(async () => {
  server = await startTestServer({ POSTHORN_TRACKING_READ_SECONDS: "3", POSTHORN_TRACKING_READ_HOLD_MAX: "2" });
  client = new ServerClient(await server.createWorkspace("reads", { sandbox: true }), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
});

after(async () => {
  await server?.close();
});

async function pixelOfNewMessage(): Promise<{ messageId: string; pixel: string }> {
  const sent = await client.sendEmail({ From: "a@reads.test", To: "reader@rcpt.test", Subject: "s", HtmlBody: "<p>x</p>", TrackOpens: true });
  return { messageId: sent.MessageID, pixel: server.app.services.tracking.openUrl(sent.MessageID) };
}

/** Fetches the pixel and keeps the connection for `holdMs` (null: until the server ends it); the bytes received and when the first came. */
function view(url: string, userAgent: string, holdMs: number | null): Promise<{ body: Buffer; status: number; firstChunkMs: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let firstChunkMs = -1;
    const request = http.get(url, { headers: { "user-agent": userAgent } }, (response) => {
      response.on("data", (chunk: Buffer) => {
        if (firstChunkMs < 0) firstChunkMs = Date.now() - started;
        chunks.push(chunk);
      });
      response.on("end", () => resolve({ body: Buffer.concat(chunks), status: response.statusCode!, firstChunkMs, ended: true }));
      if (holdMs !== null) {
        setTimeout(() => {
          request.destroy();
          resolve({ body: Buffer.concat(chunks), status: response.statusCode!, firstChunkMs, ended: false });
        }, holdMs);
      }
    });
    request.on("error", (err) => (holdMs === null ? reject(err) : undefined));
  });
}

const readSeconds = async (messageId: string) =>
  (await server.app.services.store.db.selectFrom("tracked_reads").select("read_seconds").where("message_id", "=", messageId).executeTakeFirst())?.read_seconds ?? null;

test("a reader who leaves after a second and a half has read for 1 s; one who stays is measured up to the limit", async () => {
  const short = await pixelOfNewMessage();
  const left = await view(short.pixel, OUTLOOK, 1_500);
  assert.equal(left.status, 200);
  assert.equal(left.body.subarray(0, 6).toString("latin1"), "GIF89a");
  assert.ok(left.firstChunkMs < 1_000, "the first frame is sent at once");
  assert.equal(await eventually(() => readSeconds(short.messageId)), 1);

  const long = await pixelOfNewMessage();
  const stayed = await view(long.pixel, IPHONE_MAIL, null);
  assert.equal(stayed.ended, true, "the GIF ends at the limit");
  assert.equal(stayed.body.at(-1), 0x3b, "a complete GIF");
  assert.ok(stayed.body.length > PLAIN_PIXEL_BYTES + 22, "with more than one frame");
  assert.equal(await eventually(() => readSeconds(long.messageId)), 3);

  const opens = await client.getMessageOpensForSingleMessage(short.messageId, { count: 10, offset: 0 });
  assert.equal(opens.Opens[0]!.ReadSeconds, 1);
  // The stats count each open's read time in its bucket; the one that stayed is "3s+".
  const readTimes = await eventually(async () => {
    const counts = (await client.getEmailOpenReadTimes()) as unknown as Record<string, unknown>;
    return counts["1s"] === 1 && counts["3s+"] === 1 ? counts : null;
  });
  assert.equal((readTimes.Days as unknown[]).length, 1);
  assert.equal((await client.getOutboundOverview()).WithReadTimeRecorded, 2);
});

test("an image proxy gets the plain pixel at once and no read time; a HEAD records nothing", async () => {
  const { messageId, pixel } = await pixelOfNewMessage();
  const proxied = await view(pixel, GMAIL_PROXY, null);
  assert.equal(proxied.body.length, PLAIN_PIXEL_BYTES);
  assert.equal(await eventually(async () => (await server.app.services.store.db.selectFrom("tracked_reads").select("id").where("message_id", "=", messageId).executeTakeFirst()) ?? null) !== null, true);
  assert.equal(await readSeconds(messageId), null);
  const head = await fetch(pixel, { method: "HEAD" });
  assert.equal(head.status, 200);
});

test("past the most pixels held at once, a pixel is answered at once; held pixels end when the server stops", async () => {
  const [a, b, c] = [await pixelOfNewMessage(), await pixelOfNewMessage(), await pixelOfNewMessage()];
  const held = [view(a.pixel, OUTLOOK, null), view(b.pixel, OUTLOOK, null)];
  await eventually(async () => (await readSeconds(a.messageId)) === null && (await server.app.services.store.db.selectFrom("tracked_reads").select("id").where("message_id", "=", b.messageId).executeTakeFirst()) !== undefined);
  const third = await view(c.pixel, OUTLOOK, null);
  assert.equal(third.body.length, PLAIN_PIXEL_BYTES, "the third is not held");
  const stopping = Date.now();
  await server.close();
  const ended = await Promise.all(held);
  assert.ok(ended.every((r) => r.ended && r.body.at(-1) === 0x3b), "each held pixel ended as a complete GIF");
  assert.ok(Date.now() - stopping < 2_500, "shutdown did not wait out the measure");
});
