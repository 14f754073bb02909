// Tracking defaults per message stream (issue 10: "per message, per stream default and per
// server"): Postmark's MessageStream has no such field, so POST/PATCH /message-streams take
// Posthorn's TrackOpens and TrackLinks (null: the server's apply). A message's own setting comes
// first, then its stream's, then the workspace's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Models, ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";

let server: TestServer;
let client: ServerClient;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api" });
  client = new ServerClient(await server.createWorkspace("streams-tracked"), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
});

after(() => server.close());

async function sendOn(stream: string, extra: Partial<Models.Message> = {}): Promise<{ trackOpens: boolean; trackLinks: string; mime: string }> {
  const sent = await client.sendEmail({ From: "app@acme.test", To: "reader@example.test", Subject: "s", HtmlBody: '<p><a href="https://acme.example/a">A</a></p>', MessageStream: stream, ...extra });
  const details = await client.getOutboundMessageDetails(sent.MessageID);
  const dump = await client.getOutboundMessageDump(sent.MessageID);
  return { trackOpens: details.TrackOpens, trackLinks: details.TrackLinks, mime: dump.Body };
}

test("a stream's tracking defaults apply to its mail, the message's own setting first, the server's when the stream sets none", async () => {
  const created = await client.createMessageStream({ ID: "alerts", Name: "Alerts", MessageStreamType: "Transactional", TrackOpens: true, TrackLinks: "HtmlOnly" } as unknown as Models.CreateMessageStreamRequest);
  assert.deepEqual([(created as unknown as { TrackOpens: boolean }).TrackOpens, (created as unknown as { TrackLinks: string }).TrackLinks], [true, "HtmlOnly"]);
  const plain = await client.getMessageStream("outbound");
  assert.deepEqual([(plain as unknown as { TrackOpens: unknown }).TrackOpens, (plain as unknown as { TrackLinks: unknown }).TrackLinks], [null, null], "a stream without defaults follows the server");

  const onAlerts = await sendOn("alerts");
  assert.deepEqual([onAlerts.trackOpens, onAlerts.trackLinks], [true, "HtmlOnly"]);
  assert.match(onAlerts.mime, /\/t\/o\/[A-Za-z0-9_-]+/, "the open pixel is in the message");
  assert.doesNotMatch(onAlerts.mime, /https:\/\/acme\.example\/a/, "the link is rewritten");

  const onOutbound = await sendOn("outbound");
  assert.deepEqual([onOutbound.trackOpens, onOutbound.trackLinks], [false, "None"]);
  assert.doesNotMatch(onOutbound.mime, /\/t\/o\//);

  // The message's own TrackLinks wins over the stream's.
  const own = await sendOn("alerts", { TrackLinks: Models.LinkTrackingOptions.None });
  assert.equal(own.trackLinks, "HtmlOnly", "None asks for nothing, so the stream's default applies, as the server's does on Postmark");
  const text = await sendOn("alerts", { TrackLinks: Models.LinkTrackingOptions.TextOnly });
  assert.equal(text.trackLinks, "TextOnly");
});

test("a stream's defaults are changed by PATCH, null gives them back to the server, and a bad value is refused", async () => {
  await client.createMessageStream({ ID: "digest", Name: "Digest", MessageStreamType: "Transactional", TrackOpens: false } as unknown as Models.CreateMessageStreamRequest);
  const edited = await client.editMessageStream("digest", { TrackOpens: true, TrackLinks: "htmlandtext" } as unknown as Models.UpdateMessageStreamRequest);
  assert.deepEqual([(edited as unknown as { TrackOpens: boolean }).TrackOpens, (edited as unknown as { TrackLinks: string }).TrackLinks], [true, "HtmlAndText"]);
  const cleared = await client.editMessageStream("digest", { TrackOpens: null, TrackLinks: null } as unknown as Models.UpdateMessageStreamRequest);
  assert.deepEqual([(cleared as unknown as { TrackOpens: unknown }).TrackOpens, (cleared as unknown as { TrackLinks: unknown }).TrackLinks], [null, null]);
  const bad = await failure(client.editMessageStream("digest", { TrackOpens: "yes" } as unknown as Models.UpdateMessageStreamRequest));
  assert.equal(bad.statusCode, 422);
  assert.match(bad.message, /TrackOpens/);
  const badLinks = await failure(client.createMessageStream({ ID: "other", Name: "Other", MessageStreamType: "Transactional", TrackLinks: "Sometimes" } as unknown as Models.CreateMessageStreamRequest));
  assert.match(badLinks.message, /TrackLinks/);
});
