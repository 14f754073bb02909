// Property: whatever a client sends, every listener answers each line with a well-formed SMTP
// reply (RFC 5321 §4.2: three digits 2xx–5xx, "-" on every line but the last, one code per
// reply) within REPLY_BOUND_MS, and never crashes: after the run, a clean session still gets its
// 250. Commands and DATA are drawn from a seeded generator (fast-check sits in node_modules only
// as another package's dependency, not ours, so it is not used): valid commands,
// the same mutated (cut, doubled, bytes flipped, high bytes, overlong), DSN and other parameters
// with odd values, and messages with lone dots, NULs, bare CRs and lines past 998 octets. A
// failure prints its seed; FUZZ_SEED=<n> replays it.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/shared/logger.js";
import { startSubmissionServer, type SubmissionServer } from "../src/smtp/submission.server.js";
import { startInboundServer, type InboundServer } from "../src/smtp/inbound.server.js";
import type { Workspace } from "../src/workspaces/workspaces.service.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Sessions per listener, and commands per session at most. */
const SESSIONS = 40;
const COMMANDS = 25;
/** Every reply must come within this (the listeners answer from memory here; deadlines are 5 min). */
const REPLY_BOUND_MS = 2_000;
const TOKEN = "fuzz-token-0123456789";
const ACME: Workspace = { id: "ws_fuzz", name: "fuzz", sandbox: false, createdAt: 0 };

/** mulberry32: small, seeded, good enough to pick test inputs. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bytes = (n: number) => Array.from({ length: n }, () => String.fromCharCode(int(256))).join("");
  return { next, int, pick, bytes };
}
type Gen = ReturnType<typeof generator>;

const ADDRESSES = ["a@acme.test", "b@example.test", "a@ours.test", "", "postmaster", "jörg@example.test", "a@bücher.example", "a@xn--bcher-kva.example", "@relay.test:a@example.test", "a@[127.0.0.1]", "a b@example.test", "\"q\"@example.test", "a@", "x".repeat(300) + "@example.test"];
const PARAMETERS = ["SIZE=100", "SIZE=99999999999999999999999", "SIZE=x", "BODY=8BITMIME", "BODY=BINARYMIME", "SMTPUTF8", "SMTPUTF8=yes", "RET=FULL", "RET=HDRS", "RET=X", "ENVID=abc+2Bdef", "ENVID=ab+0D+0Acd", "ENVID=", "NOTIFY=SUCCESS,FAILURE,DELAY", "NOTIFY=NEVER", "NOTIFY=NEVER,FAILURE", "NOTIFY=", "NOTIFY=BOGUS", "ORCPT=rfc822;b@example.test", "ORCPT=rfc822;", "ORCPT=bogus", "ORCPT=rfc822;a+40b", "REQUIRETLS", "AUTH=<>", "X=Y", "=", "SIZE=1 SIZE=2"];
const VERBS = ["EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY", "EXPN", "HELP", "AUTH", "QUIT", "BDAT", "XCLIENT", "XFORWARD", "WIZ", "TURN", "ETRN"];

function validCommand(g: Gen): string {
  const params = () => Array.from({ length: g.int(3) }, () => g.pick(PARAMETERS)).join(" ");
  switch (g.int(10)) {
    case 0: return `EHLO ${g.pick(["client.test", "[127.0.0.1]", "", "x".repeat(300)])}`;
    case 1: return `MAIL FROM:<${g.pick(ADDRESSES)}> ${params()}`.trimEnd();
    case 2: case 3: return `RCPT TO:<${g.pick(ADDRESSES)}> ${params()}`.trimEnd();
    case 4: return "DATA";
    case 5: return `AUTH ${g.pick(["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"])} ${g.pick(["", Buffer.from(`\0${TOKEN}\0${TOKEN}`).toString("base64"), "AAAA", "=", "!!!!"])}`.trimEnd();
    case 6: return g.pick(["RSET", "NOOP", "NOOP hello", "HELP", "VRFY a@acme.test", "HELO client.test"]);
    case 7: return g.pick(VERBS) + " " + g.pick(PARAMETERS);
    default: return g.pick(["MAIL FROM:<a@acme.test>", "RCPT TO:<b@example.test>", "RCPT TO:<a@ours.test>"]);
  }
}

function mutate(g: Gen, line: string): string {
  switch (g.int(7)) {
    case 0: return line.slice(0, g.int(line.length + 1));
    case 1: return line + line;
    case 2: { const at = g.int(line.length + 1); return line.slice(0, at) + g.bytes(1 + g.int(8)) + line.slice(at); }
    case 3: return line.toLowerCase();
    case 4: return line.replace(/:/g, g.pick([" : ", "", "::"]));
    case 5: return g.bytes(g.int(60));
    default: return line + " " + "A".repeat(g.pick([10, 1000, 20_000]));
  }
}

function commandLine(g: Gen): string {
  const line = g.next() < 0.6 ? validCommand(g) : mutate(g, validCommand(g));
  // One line per command, so that each gets exactly one reply: CR and LF would split it.
  return line.replace(/[\r\n]/g, "");
}

function message(g: Gen): string {
  const lines = ["From: a@acme.test", "Subject: fuzz", ""];
  for (let i = g.int(8); i > 0; i--) {
    lines.push(g.pick([".", "..", ". ", "x".repeat(g.pick([10, 998, 999, 3000])), "a\0b", "bare\rcr", g.bytes(g.int(80)).replace(/[\r\n]/g, ""), "QUIT", "MAIL FROM:<x@y.test>", "Bcc: c@example.test"]));
  }
  // Dot-stuffing (RFC 5321 §4.5.2), so that only the real end-of-data line ends it.
  return lines.join("\r\n").replace(/(^|\n)\./g, "$1..") + "\r\n.\r\n";
}

/** One reply: well-formed lines, the same code on each, "-" on all but the last. */
function checkReply(reply: string, context: string): number {
  const lines = reply.split("\r\n");
  const code = lines[0]!.slice(0, 3);
  assert.match(code, /^[2-5]\d\d$/, context);
  lines.forEach((line, i) => {
    assert.ok(line.startsWith(code), `${context}: every line carries the same code: ${JSON.stringify(reply)}`);
    assert.equal(line[3] ?? " ", i < lines.length - 1 ? "-" : " ", `${context}: continuation marks: ${JSON.stringify(reply)}`);
    assert.ok(line.length <= 512, `${context}: a reply line fits RFC 5321 §4.5.3.1.5`);
  });
  return Number(code);
}

class Session {
  private buffer = "";
  private waiter: (() => void) | null = null;
  closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer += chunk.toString("latin1");
      this.waiter?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  static async open(port: number): Promise<Session> {
    const socket = net.connect({ port, host: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return new Session(socket);
  }

  /** The next whole reply, or null when the server closed first; fails past REPLY_BOUND_MS. */
  async reply(context: string): Promise<string | null> {
    const started = Date.now();
    for (;;) {
      const end = /(?:^|\r\n)\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (end) {
        const reply = this.buffer.slice(0, end.index + end[0].length - 2);
        this.buffer = this.buffer.slice(end.index + end[0].length);
        return reply;
      }
      if (this.closed) return null;
      const left = REPLY_BOUND_MS - (Date.now() - started);
      assert.ok(left > 0, `${context}: no reply within ${REPLY_BOUND_MS} ms (unread: ${JSON.stringify(this.buffer.slice(0, 200))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  write(text: string): void {
    if (!this.closed) this.socket.write(Buffer.from(text, "latin1"));
  }

  close(): void {
    this.socket.destroy();
  }
}

async function fuzzSession(port: number, g: Gen, label: string): Promise<void> {
  const session = await Session.open(port);
  try {
    const greeting = await session.reply(`${label} greeting`);
    if (greeting === null || checkReply(greeting, `${label} greeting`) !== 220) return;
    for (let i = 0; i < COMMANDS; i++) {
      const line = commandLine(g);
      const context = `${label} after ${JSON.stringify(line.slice(0, 120))}`;
      session.write(`${line}\r\n`);
      const reply = await session.reply(context);
      if (reply === null) return; // closed: after QUIT, 421, or too many bad commands
      const code = checkReply(reply, context);
      if (code === 421 || code === 221) return;
      if (/^STARTTLS/i.test(line) && code === 220) return; // a TLS handshake would follow
      if (code === 354) {
        session.write(message(g));
        const answer = await session.reply(`${label} end of DATA`);
        if (answer === null) return;
        checkReply(answer, `${label} end of DATA`);
      }
    }
  } finally {
    session.close();
  }
}

async function cleanSession(port: number, rcpt: string): Promise<string> {
  const session = await Session.open(port);
  try {
    const replies: Array<string | null> = [await session.reply("greeting")];
    for (const line of ["EHLO clean.test", "MAIL FROM:<a@acme.test>", `RCPT TO:<${rcpt}>`, "DATA"]) {
      session.write(`${line}\r\n`);
      replies.push(await session.reply(line));
    }
    session.write("From: a@acme.test\r\nSubject: clean\r\n\r\nhi\r\n.\r\n");
    return (await session.reply("end of DATA")) ?? `closed after ${JSON.stringify(replies)}`;
  } finally {
    session.close();
  }
}

describe(`SMTP listeners under random and mutated input (FUZZ_SEED=${SEED})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "posthorn-fuzz-"));
  let submission: SubmissionServer;
  let mx: InboundServer;

  before(async () => {
    submission = await startSubmissionServer({
      host: "127.0.0.1",
      port: 0,
      hostname: "smtp.posthorn.test",
      tls: null,
      dataDir,
      allowInsecureAuth: true,
      maxMessageBytes: 50_000,
      // Trusted, so that random MAIL/RCPT/DATA reach the transaction paths; AUTH is fuzzed all the same.
      trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }],
      logger: silentLogger(),
      // Many sessions from one address in a row; the cap is not what is tested here.
      sessionsPerClient: 1_000,
      authenticate: async (user, pass) => (user === TOKEN && pass === TOKEN ? { workspace: ACME, stream: null } : null),
      accept: async () => ({ messageId: "m-fuzz" }),
    });
    mx = await startInboundServer({
      host: "127.0.0.1",
      port: 0,
      hostname: "mx.posthorn.test",
      tls: null,
      dataDir,
      maxMessageBytes: 50_000,
      sessionsPerClient: 1_000,
      logger: silentLogger(),
      router: { route: async (address) => (address.endsWith("@ours.test") ? { kind: "ours" } : null), deliver: async () => undefined },
    });
  });

  after(async () => {
    await Promise.all([submission.close(), mx.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the submission listener answers every line well-formed and in time, and still serves a clean session", async () => {
    const g = generator(SEED);
    for (let i = 0; i < SESSIONS; i++) await fuzzSession(submission.port, g, `seed ${SEED} submission session ${i}`);
    assert.match(await cleanSession(submission.port, "b@example.test"), /^250 2\.0\.0 OK: queued as m-fuzz$/);
  });

  test("the MX listener answers every line well-formed and in time, and still serves a clean session", async () => {
    const g = generator(SEED + 1);
    for (let i = 0; i < SESSIONS; i++) await fuzzSession(mx.port, g, `seed ${SEED} MX session ${i}`);
    assert.match(await cleanSession(mx.port, "a@ours.test"), /^250 2\.0\.0 /);
  });
});
