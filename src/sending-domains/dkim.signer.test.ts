import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { openTempSqlite } from "../../test/support/stores.js";
import { silentLogger } from "../shared/logger.js";
import type { Store } from "../store/store.js";
import { createDomainDns } from "./domain-dns.js";
import { createSecretBox } from "./secret-box.js";
import { SendingDomainsService, type SendingDomain } from "./sending-domains.service.js";
import { createDkimSigner } from "./dkim.signer.js";
import { startDnsZoneServer, type DnsZoneServer } from "./testing/dns-zone-server.js";
import { dkimpyVerify, findDkimpy } from "./testing/dkimpy.js";

/** A ~2 KB message shaped like the ones mime.builder.ts produces. */
function message(overrides: { from?: string; subject?: string; body?: string } = {}): Buffer {
  const body = overrides.body ?? `${"Hello there, this is a transactional message body line.\r\n".repeat(30)}`;
  return Buffer.from(
    [
      `From: "Sender" <app@${overrides.from ?? "example.test"}>`,
      "To: someone@example.org",
      "Cc: other@example.org",
      "Reply-To: support@example.test",
      `Subject: ${overrides.subject ?? "Your receipt"}`,
      "Date: Sun, 22 Nov 2026 12:00:00 +0000",
      "Message-ID: <a1b2c3@posthorn.test>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 7bit",
      "List-Unsubscribe: <https://posthorn.test/u/abc>, <mailto:unsub@posthorn.test>",
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
      "X-PM-Message-Id: 0192",
      "",
      body,
    ].join("\r\n"),
  );
}

describe("DKIM signer", () => {
  let dns: DnsZoneServer;
  let store: Store;
  let service: SendingDomainsService;
  let deps: ConstructorParameters<typeof SendingDomainsService>[0];
  let domain: SendingDomain;
  /** TXT records published for the verified domain, by host: what the verifiers resolve. */
  const records: Record<string, string> = {};

  before(async () => {
    dns = await startDnsZoneServer();
    store = await openTempSqlite();
    deps = {
      store,
      clock: { now: () => Date.now() },
      dns: createDomainDns({ dnsServers: [dns.address], timeoutMs: 500 }),
      secrets: createSecretBox(randomBytes(32)),
      logger: silentLogger(),
      settings: { hostname: "mta.posthorn.test", spfInclude: null, ed25519: true },
    };
    service = new SendingDomainsService(deps);
    domain = await service.create({ name: "example.test" });
    for (const record of [domain.pendingKey!.record, domain.pendingKey!.ed25519Record]) {
      dns.zone[record.host] = { TXT: [record.value] };
      records[record.host] = record.value;
    }
    domain = await service.verifyDkim(domain.id);
    assert.equal(domain.dkimVerified, true);
    assert.notEqual(domain.activeKey?.ed25519VerifiedAt, null);
    await service.create({ name: "unverified.test" });
  });

  after(async () => {
    await store.close();
    await dns.close();
  });

  const resolver = async (name: string, rrtype: string) => {
    const value = records[name.toLowerCase().replace(/\.$/, "")];
    if (rrtype !== "TXT" || value === undefined) throw Object.assign(new Error(`no ${rrtype} for ${name}`), { code: "ENOTFOUND" });
    return [[value]];
  };
  const mailauthResults = async (signed: Buffer) =>
    (await dkimVerify(signed, { resolver })).results.map((r) => `${r.selector}:${r.status.result}`).sort();

  test("mail from a verified domain gets an RSA and an Ed25519 signature that mailauth accepts", async () => {
    const signed = await createDkimSigner({ service }).sign(message(), "Example.Test");
    assert.equal((signed.toString().match(/^DKIM-Signature:/gm) ?? []).length, 2);
    assert.ok(signed.subarray(signed.length - message().length).equals(message()), "the message follows the signatures unchanged");
    // The selector names the day the key was made (phYYYYMMDD), so it is read from the domain.
    const selector = domain.activeKey!.selector;
    assert.deepEqual(await mailauthResults(signed), [`${selector}-ed:pass`, `${selector}:pass`].sort());
  });

  test("an independent verifier (dkimpy) accepts both signatures, and rejects them after tampering", async (t) => {
    const python = findDkimpy();
    if (!python) {
      // CI installs python3-dkim (.ci/run); elsewhere the proof is skipped with the reason.
      if (process.env.CI) assert.fail("python3-dkim is not installed (apt-get install -y python3-dkim)");
      t.skip("python3-dkim not installed (apt-get install -y python3-dkim)");
      return;
    }
    const signer = createDkimSigner({ service });
    const signed = await signer.sign(message(), "example.test");
    assert.deepEqual(dkimpyVerify(python, signed, records), [
      { selector: domain.activeKey!.selector, algorithm: "rsa-sha256", ok: true },
      { selector: `${domain.activeKey!.selector}-ed`, algorithm: "ed25519-sha256", ok: true },
    ]);
    const text = signed.toString("utf8");
    const tampered = {
      body: text.replace("transactional message", "transactional massage"),
      subject: text.replace("Subject: Your receipt", "Subject: Your receipt!"),
      unsubscribe: text.replace("https://posthorn.test/u/abc", "https://evil.test/u/abc"),
    };
    for (const [what, bytes] of Object.entries(tampered)) {
      assert.notEqual(bytes, text, what);
      const results = dkimpyVerify(python, Buffer.from(bytes), records);
      assert.deepEqual(results.map((r) => r.ok), [false, false], `dkimpy after changing the ${what}`);
      assert.ok((await mailauthResults(Buffer.from(bytes))).every((r) => r.endsWith(":fail") || r.endsWith(":neutral")), `mailauth after changing the ${what}`);
    }
    // A header outside the signed list may be added by relays without breaking anything.
    const relayed = Buffer.from(`Received: from relay.test\r\nX-Spam-Score: 0\r\n${text}`);
    assert.deepEqual(dkimpyVerify(python, relayed, records).map((r) => r.ok), [true, true]);
  });

  test("the signature covers the listed header fields that are present, and not the others", async () => {
    const signed = (await createDkimSigner({ service }).sign(message(), "example.test")).toString();
    const header = /^DKIM-Signature:[^]*?(?=\r\n(?![ \t]))/m.exec(signed)![0];
    const h = /\bh=([^;]+)/.exec(header.replace(/\r\n[ \t]+/g, ""))![1]!.replace(/\s+/g, "").toLowerCase().split(":");
    assert.deepEqual(new Set(h), new Set(["from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post"]));
    assert.match(header, /\bc=relaxed\/relaxed/);
    assert.match(header, /\bt=\d+/);
    assert.match(header, /\bd=example\.test/);
  });

  test("mail from an unverified, unknown or parent-only domain is passed through as the same bytes", async () => {
    const signer = createDkimSigner({ service });
    for (const from of ["unverified.test", "unknown.test", "news.example.test", "not a domain"]) {
      const raw = message({ from });
      assert.equal(await signer.sign(raw, from), raw, from);
    }
  });

  test("says what it did: each signature's d=, s= and a=, or why it did not sign", async () => {
    const signer = createDkimSigner({ service });
    const key = domain.activeKey!;
    const signed = await signer.signWithResult(message(), "Example.Test");
    assert.deepEqual(signed.dkim, {
      signed: [
        { d: "example.test", s: key.selector, a: "rsa-sha256" },
        { d: "example.test", s: key.ed25519Record.host.split("._domainkey.")[0]!, a: "ed25519-sha256" },
      ],
    });
    assert.match(signed.raw.toString(), new RegExp(`^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;\\s+s=${key.selector};`), "the signature says what the result says");
    const unverified = await signer.signWithResult(message({ from: "unverified.test" }), "unverified.test");
    assert.deepEqual(unverified.dkim, { unsigned: "unverified", d: "unverified.test" });
    assert.equal(unverified.raw.toString(), message({ from: "unverified.test" }).toString(), "the same bytes");
    assert.deepEqual((await signer.signWithResult(message({ from: "news.example.test" }), "news.example.test")).dkim, { unsigned: "not-sending-domain", d: "news.example.test" });
    assert.deepEqual((await signer.signWithResult(message(), "")).dkim, { unsigned: "no-domain" });
  });

  test("keys are looked up once per domain while cached, and dropped when the domain changes", async () => {
    let lookups = 0;
    const listeners: Array<(name: string) => void> = [];
    const signer = createDkimSigner({
      service: {
        signingKeys: (name) => {
          lookups += 1;
          return service.signingKeys(name);
        },
        unsignedReason: (name) => service.unsignedReason(name),
        onDomainChanged: (listener) => listeners.push(listener),
      },
    });
    await Promise.all(Array.from({ length: 5 }, () => signer.sign(message(), "example.test")));
    await signer.sign(message(), "example.test");
    assert.equal(lookups, 1);
    for (const listener of listeners) listener("example.test");
    await signer.sign(message(), "example.test");
    assert.equal(lookups, 2);
  });

  test("signing a 2 KB message costs a few milliseconds", async (t) => {
    const raw = message();
    assert.ok(raw.length >= 1900 && raw.length <= 2300, `message is ${raw.length} bytes`);
    const rsaOnly = new SendingDomainsService({ ...deps, settings: { ...deps.settings, ed25519: false } });
    // CPU time as well as wall time: other test files share the machine, and CPU time is what
    // signing costs the MTA.
    const measure = async (signer: ReturnType<typeof createDkimSigner>, rounds: number) => {
      await signer.sign(raw, "example.test"); // warm the key cache and the JIT
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < rounds; i += 1) await signer.sign(raw, "example.test");
      const used = process.cpuUsage(cpu);
      return { wallMs: Number(process.hrtime.bigint() - start) / 1e6 / rounds, cpuMs: (used.user + used.system) / 1000 / rounds };
    };
    const rsa = await measure(createDkimSigner({ service: rsaOnly }), 200);
    const both = await measure(createDkimSigner({ service }), 200);
    const show = (m: { wallMs: number; cpuMs: number }) => `${m.cpuMs.toFixed(2)} ms CPU (${m.wallMs.toFixed(2)} ms wall)`;
    t.diagnostic(`DKIM signing of a ${raw.length}-byte message: RSA-2048 ${show(rsa)}; RSA-2048 + Ed25519 ${show(both)}`);
    const bothMs = both.cpuMs;
    assert.ok(bothMs < 25, `${bothMs} ms per signature`);
  });
});

