// The MTA's in-test DNS server (mta/testing/dns-test-server.ts) plus CNAME records, which
// verifying a return-path domain needs. Kept here rather than in that file, which belongs to the
// MTA; it reuses that file's packet codec and only answers CNAME questions itself.
import dgram from "node:dgram";
import { decodeDnsQuestion, encodeDnsAnswer, encodeDnsName, type DnsTestRecords } from "../../mta/testing/dns-test-server.js";

export type DnsZoneRecords = DnsTestRecords & { CNAME?: string };
export type DnsZone = Record<string, DnsZoneRecords>;

export interface DnsZoneServer {
  /** "127.0.0.1:PORT", for Resolver.setServers. */
  readonly address: string;
  /** Read on every query: tests publish and remove records by changing it. */
  zone: DnsZone;
  readonly queries: Array<{ name: string; type: number }>;
  close(): Promise<void>;
}

const TYPE_CNAME = 5;
const CLASS_IN = 1;
const HEADER_BYTES = 12;

function cnameAnswer(question: NonNullable<ReturnType<typeof decodeDnsQuestion>>, target: string, ttlSeconds: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(question.id, 0);
  // QR, AA, RA set; opcode and RD copied; rcode NOERROR (RFC 1035 §4.1.1).
  header.writeUInt16BE(0x8000 | (question.flags & 0x7900) | 0x0400 | 0x0080, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  const rdata = encodeDnsName(target);
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0); // the question's name
  fixed.writeUInt16BE(TYPE_CNAME, 2);
  fixed.writeUInt16BE(CLASS_IN, 4);
  fixed.writeUInt32BE(ttlSeconds, 6);
  fixed.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, question.questionBytes, fixed, rdata]);
}

export async function startDnsZoneServer(zone: DnsZone = {}): Promise<DnsZoneServer> {
  const socket = dgram.createSocket("udp4");
  const queries: Array<{ name: string; type: number }> = [];
  const server: DnsZoneServer = { address: "", zone, queries, close: () => new Promise<void>((r) => socket.close(() => r())) };
  socket.on("message", (packet, remote) => {
    const question = decodeDnsQuestion(packet);
    if (!question) return;
    queries.push({ name: question.name, type: question.type });
    const records = server.zone[question.name];
    if (records?.drop) return;
    const answer =
      question.type === TYPE_CNAME && records?.CNAME && !records.rcode
        ? cnameAnswer(question, records.CNAME, records.ttlSeconds ?? 300)
        : encodeDnsAnswer(question, server.zone);
    socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  Object.assign(server, { address: `127.0.0.1:${socket.address().port}` });
  return server;
}
