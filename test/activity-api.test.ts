// The dashboard's activity calls over real HTTP (issue 13), on SQLite and, with TEST_DATABASE_URL,
// PostgreSQL: messages sent through the Postmark API to a local SMTP sink, then listed newest first
// by cursor, narrowed by each filter and by search, polled for what is newer, and read in detail
// (timeline with the sink's reply, headers, raw MIME, the HTML part under its own policy); the
// sandbox's captured mail with its link check; and the refusals (bad input, no session, another
// workspace's data). The search index itself (and the scan bound) is proven on the repositories
// in activity-search.test.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import type { MessageDetailAnswer, MessageListAnswer, MessageStatesAnswer } from "../src/api/dashboard/activity.contract.js";

const PASSWORD = "correct horse battery staple";

interface Session {
  cookie: string;
}

for (const target of serverDatabases()) {
  describe(`dashboard activity API (${target.name})`, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let drop: () => Promise<void>;
    const ws: Record<string, { id: string; token: string }> = {};
    let admin: Session;
    let viewer: Session;
    let rivalUser: Session;
    const sent: string[] = [];

    const get = (session: Session | null, path: string) => fetch(server.url + "/api/app" + path, { headers: session ? { cookie: session.cookie } : {} });
    const list = async (session: Session, workspace: string, query = "") => {
      const res = await get(session, `/workspaces/${ws[workspace]!.id}/messages${query ? "?" + query : ""}`);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as MessageListAnswer;
    };
    const subjects = async (query: string) => (await list(admin, "shop", query)).messages.map((m) => m.subject);
    const send = async (workspace: string, body: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/email`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-postmark-server-token": ws[workspace]!.token },
        body: JSON.stringify({ From: "shop@brand.test", TextBody: "Hello there", ...body }),
      });
      const answer = (await res.json()) as { MessageID: string };
      assert.equal(res.status, 200, JSON.stringify(answer));
      return answer.MessageID;
    };
    const signIn = async (email: string): Promise<Session> => {
      const res = await fetch(server.url + "/api/app/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
      assert.equal(res.status, 200);
      return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]! };
    };

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      // gone@ (and gone2@) are refused for good and slow@ for now: the rare outcomes the state filter finds by
      // its own index (deliveries_activity_outcome, which delivered mail never enters).
      sink = await startSmtpSink({
        rcptReply: (recipient) =>
          /^gone\d*@/.test(recipient) ? { code: 550, message: "5.1.1 No such user" } : recipient.startsWith("slow@") ? { code: 451, message: "4.7.1 Try again later" } : null,
      });
      server = await startTestServer({ POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false", ...database.env });
      assert.equal(server.app.services.store.dialect, target.name);
      for (const [name, sandbox] of [["shop", false], ["rival", false], ["lab", true], ["desk", false]] as const) {
        const made = await server.app.services.workspaces.create(name, { sandbox });
        ws[name] = { id: made.workspace.id, token: made.serverToken };
      }
      await server.app.services.users.create({ email: "admin@example.com", password: PASSWORD, role: "admin", workspaces: ["shop", "lab", "desk"] });
      await server.app.services.users.create({ email: "viewer@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      await server.app.services.users.create({ email: "rival@example.com", password: PASSWORD, role: "admin", workspaces: ["rival"] });
      admin = await signIn("admin@example.com");
      viewer = await signIn("viewer@example.com");
      rivalUser = await signIn("rival@example.com");
      // Oldest first: each later message is newer.
      sent.push(await send("shop", { To: "Ann@Example.test", Subject: "Welcome aboard", Tag: "welcome" }));
      sent.push(await send("shop", { To: "bob@example.test", Subject: "Your receipt 1001", Tag: "receipt", HtmlBody: '<p>Hi <a href="https://shop.test/a">A</a> <a href="http://shop.test/b">B</a><img src="https://tracker.test/p.gif"><script>document.title="ran"</script></p>', Metadata: { order: "1001" } }));
      sent.push(await send("shop", { To: "cy@example.test", Cc: "ann@example.test", Subject: "Your receipt 1002", Tag: "receipt" }));
      sent.push(await send("shop", { To: "dee@example.test", Subject: "100% off_sale", Tag: "promo" }));
      sent.push(await send("shop", { To: "eve@example.test", Subject: "Password reset", Tag: "reset" }));
      await send("rival", { To: "zed@example.test", Subject: "Rival secret" });
      await send("lab", { To: "dev@example.test", Subject: "Captured in the lab", HtmlBody: '<a href="#">here</a> <a href="">empty</a> <a href="http://lab.test/x">plain</a> <a href="https://lab.test/y">fine</a>' });
      await eventually(async () => sink.messages.length >= 6 || null);
      await eventually(async () => (await list(admin, "shop", "state=delivered")).messages.length === 5 || null);
    });
    after(async () => {
      await server?.close();
      await sink?.close();
      await drop?.();
    });

    it("lists the workspace's messages newest first and pages by cursor without gaps or repeats", async () => {
      const all = await list(admin, "shop");
      assert.deepEqual(all.messages.map((m) => m.id), [...sent].reverse());
      assert.equal(all.next, null);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: MessageListAnswer = await list(admin, "shop", `count=2${cursor ? `&before=${cursor}` : ""}`);
        assert.ok(page.messages.length <= 2);
        seen.push(...page.messages.map((m) => m.id));
        cursor = page.next;
      } while (cursor);
      assert.deepEqual(seen, [...sent].reverse());
      const first = all.messages.find((m) => m.id === sent[2])!;
      assert.deepEqual(first.recipients, ["cy@example.test", "ann@example.test"]);
      assert.equal(first.state, "delivered");
      assert.equal(first.tag, "receipt");
      assert.equal(first.stream, "outbound");
    });

    it("finds each state: the rare outcomes by their index, delivered and queued by walking the list", async () => {
      const desk = async (query: string) => (await list(admin, "desk", query)).messages.map((m) => m.subject);
      await send("desk", { To: "gone@example.test", Subject: "Bounces" });
      await send("desk", { To: "slow@example.test", Subject: "Waits" });
      // Another refused address than the first's: a hard bounce suppresses its address, and had
      // "Bounces" been recorded before this one was accepted, gone@ would be suppressed here, not bounced.
      await send("desk", { To: "fine@example.test", Cc: "gone2@example.test", Subject: "Half delivered" });
      await send("desk", { To: "fine@example.test", Subject: "Delivered" });
      await eventually(async () => (await desk("state=bounced")).length === 2 || null, 60_000);
      await eventually(async () => (await desk("state=deferred")).length === 1 || null, 60_000);
      await eventually(async () => (await desk("state=delivered")).length === 2 || null, 60_000);
      assert.deepEqual(await desk("state=bounced"), ["Half delivered", "Bounces"]);
      assert.deepEqual(await desk("state=deferred"), ["Waits"]);
      assert.deepEqual(await desk("state=delivered"), ["Delivered", "Half delivered"]);
      assert.deepEqual(await desk("state=bounced&recipient=fine%40example.test"), ["Half delivered"]);
      assert.deepEqual(await desk("state=expired"), []);
      assert.deepEqual(await desk("state=queued"), []);
      const all = (await list(admin, "desk")).messages.map((m) => [m.subject, m.state]);
      assert.deepEqual(all, [["Delivered", "delivered"], ["Half delivered", "bounced"], ["Waits", "deferred"], ["Bounces", "bounced"]]);
    });

    it("narrows by tag, recipient (any case, also Cc), state, stream, dates and search over subject and address", async () => {
      assert.deepEqual(await subjects("tag=receipt"), ["Your receipt 1002", "Your receipt 1001"]);
      assert.deepEqual(await subjects("recipient=ANN%40example.test"), ["Your receipt 1002", "Welcome aboard"]);
      assert.deepEqual(await subjects("recipient=ann%40example.test&tag=welcome"), ["Welcome aboard"]);
      assert.equal((await subjects("state=delivered")).length, 5);
      assert.deepEqual(await subjects("state=bounced"), []);
      assert.equal((await subjects("stream=outbound")).length, 5);
      assert.deepEqual(await subjects("stream=broadcasts"), []);
      // Search lags acceptance by the worker's indexing (about a second at most, search-indexer.ts).
      // The rival's message was accepted after shop's last one and may be indexed in a later batch.
      await eventually(async () => (await subjects("q=reset")).length === 1 || null);
      await eventually(async () => (await list(rivalUser, "rival", "q=secret")).messages.length === 1 || null);
      assert.deepEqual(await subjects("q=receipt"), ["Your receipt 1002", "Your receipt 1001"]);
      assert.deepEqual(await subjects("q=RECEIPT%201001"), ["Your receipt 1001"]);
      assert.deepEqual(await subjects("q=eve%40"), ["Password reset"]);
      assert.deepEqual(await subjects("q=%40example.test%20aboard"), ["Welcome aboard"], "words of an address and of a subject together");
      assert.deepEqual(await subjects("q=%25%20off_"), ["100% off_sale"], "LIKE's wildcards are punctuation: the word is off");
      assert.deepEqual(await subjects("q=%22receipt%22%20NEAR%20*"), [], "NEAR is a word to find, not an operator");
      assert.deepEqual(await subjects("q=receipt&tag=receipt&count=1").then((s) => s.length), 1);
      assert.deepEqual(await subjects("q=receipt&recipient=ann%40example.test"), ["Your receipt 1002"], "search with a recipient");
      assert.deepEqual(await subjects("q=receipt&state=delivered&stream=outbound"), ["Your receipt 1002", "Your receipt 1001"]);
      const answer = await list(admin, "shop", "q=receipt");
      assert.equal(answer.searchIndexing, false, "a new installation has no older messages to index");
      assert.equal(answer.partial, false);
      assert.deepEqual((await list(rivalUser, "rival", "q=receipt")).messages, [], "another workspace's receipts are never found");
      assert.deepEqual((await list(rivalUser, "rival", "q=secret")).messages.map((m) => m.subject), ["Rival secret"]);
      const today = new Date().toISOString().slice(0, 10);
      assert.equal((await subjects(`from=${today}&to=${today}`)).length, 5);
      assert.deepEqual(await subjects("to=2020-01-01"), []);
      assert.deepEqual(await subjects(`from=${Date.now() + 60_000}`), []);
    });

    it("answers only what is newer than `after`, and the states of listed messages", async () => {
      const first = await list(admin, "shop");
      assert.ok(first.newest);
      assert.deepEqual((await list(admin, "shop", `after=${first.newest}`)).messages, []);
      const later = await send("shop", { To: "fay@example.test", Subject: "Arrived later", Tag: "receipt" });
      const newer = await list(admin, "shop", `after=${first.newest}`);
      assert.deepEqual(newer.messages.map((m) => m.id), [later]);
      assert.notEqual(newer.newest, first.newest);
      assert.deepEqual((await list(admin, "shop", `after=${first.newest}&tag=welcome`)).messages, [], "filters apply to what is newer too");
      assert.deepEqual((await list(admin, "shop", `after=${newer.newest}`)).messages, []);
      sent.push(later);
      await eventually(async () => (await list(admin, "shop", `state=delivered&tag=receipt`)).messages.length === 3 || null);
      const res = await get(viewer, `/workspaces/${ws.shop!.id}/messages/states?ids=${later},${sent[0]},nope`);
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as MessageStatesAnswer).states, { [later]: "delivered", [sent[0]!]: "delivered" });
    });

    it("shows one message: envelope, recipients, headers, and one timeline with the MX host and the remote reply", async () => {
      const res = await get(viewer, `/workspaces/${ws.shop!.id}/messages/${sent[1]}`);
      assert.equal(res.status, 200);
      const m = (await res.json()) as MessageDetailAnswer;
      assert.equal(m.subject, "Your receipt 1001");
      assert.equal(m.state, "delivered");
      assert.deepEqual(m.to, [{ email: "bob@example.test", name: "" }]);
      assert.deepEqual(m.metadata, { order: "1001" });
      assert.equal(m.hasHtml, true);
      assert.match(m.textBody ?? "", /Hello there/);
      assert.ok(m.headers.some((h) => h.name.toLowerCase() === "subject" && h.value === "Your receipt 1001"));
      assert.deepEqual(m.recipients.map((r) => [r.email, r.state]), [["bob@example.test", "delivered"]]);
      assert.deepEqual(m.timeline.map((e) => e.kind).slice(0, 2), ["accepted", "delivered"]);
      const delivered = m.timeline.find((e) => e.kind === "delivered")!;
      assert.equal(delivered.recipient, "bob@example.test");
      assert.match(delivered.reply ?? "", /^250 /);
      assert.ok(delivered.remoteHost, "the attempt names the host it reached");
      assert.deepEqual(m.links.map((l) => [l.href, l.problem]), [["https://shop.test/a", null], ["http://shop.test/b", "http"]]);
    });

    it("serves the raw MIME as an attachment and the HTML part under a policy that runs no script and loads nothing remote unless asked", async () => {
      const raw = await get(admin, `/workspaces/${ws.shop!.id}/messages/${sent[1]}/raw`);
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get("content-type"), "message/rfc822");
      assert.match(raw.headers.get("content-disposition") ?? "", /^attachment; filename=".+\.eml"$/);
      assert.match(await raw.text(), /^Subject: Your receipt 1001\r$/m);

      const html = await get(admin, `/workspaces/${ws.shop!.id}/messages/${sent[1]}/html`);
      assert.equal(html.status, 200);
      assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
      const policy = html.headers.get("content-security-policy") ?? "";
      assert.match(policy, /default-src 'none'/);
      assert.match(policy, /img-src data: cid:;/);
      assert.match(policy, /\bsandbox\b/);
      assert.doesNotMatch(policy, /script-src|allow-scripts|allow-same-origin/);
      assert.match(await html.text(), /<a href="https:\/\/shop.test\/a">/);
      const remote = await get(admin, `/workspaces/${ws.shop!.id}/messages/${sent[1]}/html?remote=1`);
      assert.match(remote.headers.get("content-security-policy") ?? "", /img-src data: cid: https: http:/);
    });

    it("shows a sandbox's captured message as accepted, with its link check", async () => {
      const lab = await list(admin, "lab");
      assert.equal(lab.messages.length, 1);
      assert.equal(lab.messages[0]!.state, "accepted");
      assert.equal(lab.messages[0]!.sandboxed, true);
      assert.deepEqual((await list(admin, "lab", "state=accepted")).messages.length, 1);
      const m = (await (await get(admin, `/workspaces/${ws.lab!.id}/messages/${lab.messages[0]!.id}`)).json()) as MessageDetailAnswer;
      assert.equal(m.recipients.length, 0);
      assert.deepEqual(m.timeline.map((e) => e.kind), ["accepted"]);
      assert.deepEqual(m.links.map((l) => l.problem), ["placeholder", "empty", "http", null]);
    });

    it("refuses bad input with the dashboard's error form", async () => {
      const searches = ["q=_", "q=%22*%22", "q=-%20%26%20%7C", `q=${"a".repeat(201)}`, `q=${Array.from({ length: 9 }, (_, i) => `w${i}`).join("%20")}`];
      for (const query of ["state=sent", "count=0", "count=101", "before=%2F%2F", "before=bm9wZQ", "from=yesterday", "color=red", "before=MS5h&after=MS5h", ...searches]) {
        const res = await get(admin, `/workspaces/${ws.shop!.id}/messages?${query}`);
        assert.equal(res.status, 400, query);
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "DASHBOARD_REQUEST_INVALID", query);
        assert.ok(body.error.message.length > 0);
      }
      const many = Array.from({ length: 101 }, (_, i) => `m${i}`).join(",");
      assert.equal((await get(admin, `/workspaces/${ws.shop!.id}/messages/states?ids=${many}`)).status, 400);
      assert.equal((await get(admin, `/workspaces/${ws.shop!.id}/messages/${sent[1]}/html?remote=yes`)).status, 400);
    });

    it("refuses a call without a session, another workspace's list, and another workspace's message", async () => {
      const none = await get(null, `/workspaces/${ws.shop!.id}/messages?q=receipt`);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { error: { code: string } }).error.code, "SESSION_REQUIRED");
      for (const path of ["/messages", "/messages?q=receipt", `/messages/${sent[0]}`, `/messages/${sent[0]}/raw`, `/messages/${sent[0]}/html`, `/messages/states?ids=${sent[0]}`]) {
        const res = await get(rivalUser, `/workspaces/${ws.shop!.id}${path}`);
        assert.equal(res.status, 403, path);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "NOT_PERMITTED");
      }
      // The rival's own workspace path does not reach shop's message by its id.
      for (const path of [`/messages/${sent[0]}`, `/messages/${sent[0]}/raw`, `/messages/${sent[0]}/html`]) {
        const res = await get(rivalUser, `/workspaces/${ws.rival!.id}${path}`);
        assert.equal(res.status, 404, path);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "MESSAGE_NOT_FOUND");
      }
      const states = (await (await get(rivalUser, `/workspaces/${ws.rival!.id}/messages/states?ids=${sent[0]}`)).json()) as MessageStatesAnswer;
      assert.deepEqual(states.states, {});
      assert.ok((await list(rivalUser, "rival")).messages.every((m) => m.subject === "Rival secret"));
      // Reading is all this area does: a viewer may, and there is no change call to refuse.
      assert.equal((await get(viewer, `/workspaces/${ws.shop!.id}/messages`)).status, 200);
    });
  });
}
