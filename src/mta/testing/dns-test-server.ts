// A tiny authoritative DNS server over UDP on loopback, for tests only. It answers from a zone
// held in memory so MX routing, null MX, NXDOMAIN, SERVFAIL and timeouts can be tested against
// node:dns's real resolver (c-ares) without touching the network. Point a resolver at it with
// `resolver.setServers([server.address])`.
//
// Only what tests need: one question per query, A / AAAA / MX / TXT answers, no compression on
// output except the pointer to the question name, no TCP (answers stay far below 512 bytes).
import dgram from "node:dgram";
import net from "node:net";

export interface DnsTestRecords {
  A?: string[];
  AAAA?: string[];
  MX?: Array<{ priority: number; exchange: string }>;
  TXT?: string[];
  /** Answer every query for this name with this error code instead of records. */
  rcode?: "NXDOMAIN" | "SERVFAIL" | "REFUSED";
  /** Never answer queries for this name, so the client times out. */
  drop?: boolean;
  /** TTL in seconds for the answers; 300 unless set. */
  ttlSeconds?: number;
}

/** Zone data by lower-case name without the trailing dot. Unknown names answer NXDOMAIN. */
export type DnsTestZone = Record<string, DnsTestRecords>;

export interface DnsTestServer {
  /** "127.0.0.1:PORT", the form Resolver.setServers accepts. */
  readonly address: string;
  readonly port: number;
  /** The zone is read on every query, so tests may change it between lookups. */
  zone: DnsTestZone;
  /** Every question received, in order, e.g. { name: "example.test", type: "MX" }. */
  readonly queries: Array<{ name: string; type: string }>;
  close(): Promise<void>;
}

const TYPE_CODES = { A: 1, MX: 15, TXT: 16, AAAA: 28 } as const;
type RecordType = keyof typeof TYPE_CODES;
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const CLASS_IN = 1;
const HEADER_BYTES = 12;

function typeName(code: number): string {
  const found = Object.entries(TYPE_CODES).find(([, value]) => value === code);
  return found ? found[0] : `TYPE${code}`;
}

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  type: number;
  /** The question section exactly as received, echoed back in the answer (RFC 1035 §4.1.2). */
  questionBytes: Buffer;
}

/** Reads the first question of a query; null when the packet is malformed. */
export function decodeDnsQuestion(packet: Buffer): DnsQuestion | null {
  if (packet.length < HEADER_BYTES) return null;
  const qdcount = packet.readUInt16BE(4);
  if (qdcount < 1) return null;
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  for (;;) {
    if (offset >= packet.length) return null;
    const length = packet[offset] ?? 0;
    offset += 1;
    if (length === 0) break;
    if (length > 63 || offset + length > packet.length) return null; // no pointers in questions
    labels.push(packet.subarray(offset, offset + length).toString("latin1"));
    offset += length;
  }
  if (offset + 4 > packet.length) return null;
  return {
    id: packet.readUInt16BE(0),
    flags: packet.readUInt16BE(2),
    name: labels.join(".").toLowerCase(),
    type: packet.readUInt16BE(offset),
    questionBytes: packet.subarray(HEADER_BYTES, offset + 4),
  };
}

/** Encodes a domain name as uncompressed labels (RFC 1035 §3.1); "" and "." are the root. */
export function encodeDnsName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, "");
  const parts: Buffer[] = [];
  if (trimmed !== "") {
    for (const label of trimmed.split(".")) {
      const bytes = Buffer.from(label, "latin1");
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeRdata(type: RecordType, value: unknown): Buffer {
  switch (type) {
    case "A":
      return Buffer.from(String(value).split(".").map(Number));
    case "AAAA":
      return encodeIpv6(String(value));
    case "MX": {
      const mx = value as { priority: number; exchange: string };
      const preference = Buffer.alloc(2);
      preference.writeUInt16BE(mx.priority);
      return Buffer.concat([preference, encodeDnsName(mx.exchange)]);
    }
    case "TXT": {
      // A TXT record is a sequence of character-strings of at most 255 bytes each (RFC 1035 §3.3.14).
      const text = Buffer.from(String(value), "utf8");
      const chunks: Buffer[] = [];
      let at = 0;
      do {
        const chunk = text.subarray(at, at + 255);
        chunks.push(Buffer.from([chunk.length]), chunk);
        at += 255;
      } while (at < text.length);
      return Buffer.concat(chunks);
    }
  }
}

function encodeIpv6(address: string): Buffer {
  if (!net.isIPv6(address)) throw new Error(`not an IPv6 address: ${address}`);
  const [head = "", tail = ""] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = address.includes("::") && tail !== "" ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(missing).fill("0"), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

/** Builds the response to one question from the zone. */
export function encodeDnsAnswer(question: DnsQuestion, zone: DnsTestZone): Buffer {
  const records = zone[question.name];
  let rcode: number = RCODES.NOERROR;
  const answers: Buffer[] = [];
  if (!records) {
    rcode = RCODES.NXDOMAIN;
  } else if (records.rcode) {
    rcode = RCODES[records.rcode];
  } else {
    const type = typeName(question.type) as RecordType;
    const values: unknown[] = (Object.hasOwn(TYPE_CODES, type) ? records[type] : undefined) ?? [];
    for (const value of values) {
      const rdata = encodeRdata(type, value);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // pointer to the question name at offset 12
      fixed.writeUInt16BE(question.type, 2);
      fixed.writeUInt16BE(CLASS_IN, 4);
      fixed.writeUInt32BE(records.ttlSeconds ?? 300, 6);
      fixed.writeUInt16BE(rdata.length, 10);
      answers.push(fixed, rdata);
    }
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(question.id, 0);
  // QR=1, opcode copied, AA=1, RD copied, RA=1, rcode (RFC 1035 §4.1.1).
  const opcodeAndRd = question.flags & 0x7900;
  header.writeUInt16BE(0x8000 | opcodeAndRd | 0x0400 | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length / 2, 6);
  return Buffer.concat([header, question.questionBytes, ...answers]);
}

export async function startDnsTestServer(zone: DnsTestZone = {}): Promise<DnsTestServer> {
  const socket = dgram.createSocket("udp4");
  const queries: Array<{ name: string; type: string }> = [];
  const server: DnsTestServer = {
    address: "",
    port: 0,
    zone,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (packet, remote) => {
    const question = decodeDnsQuestion(packet);
    if (!question) return;
    queries.push({ name: question.name, type: typeName(question.type) });
    if (server.zone[question.name]?.drop) return;
    socket.send(encodeDnsAnswer(question, server.zone), remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const { port } = socket.address();
  Object.assign(server, { port, address: `127.0.0.1:${port}` });
  return server;
}
