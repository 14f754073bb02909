// The submission listener's TLS certificate. With a certificate and key from config they are used
// as given. Without, a self-signed one is generated on first start into <dataDir>/smtp-tls/ and
// reused afterwards (regenerated only once expired), and its SHA-256 fingerprint is printed so
// clients can pin it. Applications that submit by SMTP usually run with certificate checks off or
// pinned, so a self-signed certificate makes STARTTLS possible from the first start.
//
// The certificate (EC P-256, ECDSA with SHA-256, X.509 v3 per RFC 5280) is built here with
// node:crypto and a small DER writer. Not taken: the `selfsigned` package (its @peculiar ASN.1
// modules clash with the older copies mailauth brings, and generation fails with "Cannot get schema
// for 'AlgorithmIdentifier'"), and the openssl binary (a runtime dependency slim images lack).
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { expandIpv6 } from "./trusted-networks.js";

export interface TlsCredentials {
  key: string;
  cert: string;
}

export interface LoadedCertificate extends TlsCredentials {
  /** SHA-256 fingerprint of the DER certificate, as colon-separated upper-case hex. */
  fingerprint256: string;
  /** Whether this start generated it (first start, or the old one had expired). */
  generated: boolean;
  /** Where it is kept; null for a certificate from config. */
  path: string | null;
}

/** Validity of a generated certificate: 10 years (3,650 days); pinned clients need no renewal. */
export const SELF_SIGNED_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The certificate and key from config, or the generated one under dataDir (created if needed). */
export function loadOrCreateCertificate(options: { configured: TlsCredentials | null; dataDir: string; hostname: string; now?: number }): LoadedCertificate {
  const now = options.now ?? Date.now();
  if (options.configured) {
    return { ...options.configured, fingerprint256: fingerprintOf(options.configured.cert), generated: false, path: null };
  }
  const dir = join(options.dataDir, "smtp-tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, "utf8");
    const key = readFileSync(keyPath, "utf8");
    if (Date.parse(new X509Certificate(cert).validTo) > now) {
      return { key, cert, fingerprint256: fingerprintOf(cert), generated: false, path: certPath };
    }
  }
  const created = generateSelfSignedCertificate(options.hostname, now);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Key first, each written whole under a temporary name and renamed, so a crash midway never
  // leaves a certificate without its key.
  writeAtomically(keyPath, created.key, 0o600);
  writeAtomically(certPath, created.cert, 0o644);
  return { ...created, fingerprint256: fingerprintOf(created.cert), generated: true, path: certPath };
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** A self-signed server certificate for the hostname, "localhost", 127.0.0.1 and ::1. */
export function generateSelfSignedCertificate(hostname: string, now = Date.now()): TlsCredentials {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const name = seq(set(seq(oid("2.5.4.3"), utf8String(hostname.slice(0, 64)))));
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets

  const altNames = new Set([hostname.toLowerCase(), "localhost", "127.0.0.1", "::1"]);
  const sanEntries = [...altNames].map((n) => (net.isIP(n) ? tagged(0x87, ipBytes(n)) : tagged(0x82, Buffer.from(n, "ascii"))));
  const extensions = seq(
    extension("2.5.29.19", true, seq()), // basicConstraints: not a CA
    extension("2.5.29.15", true, tagged(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
    extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
    extension("2.5.29.17", false, seq(...sanEntries)), // subjectAltName
    extension("2.5.29.14", false, tagged(0x04, createHash("sha1").update(spki).digest())), // subjectKeyIdentifier
  );
  const notBefore = now - DAY_MS; // a day of slack for clients whose clocks run behind
  const tbs = seq(
    tagged(0xa0, integer(Buffer.from([2]))), // version v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(time(notBefore), time(now + SELF_SIGNED_VALIDITY_DAYS * DAY_MS)),
    name,
    spki,
    tagged(0xa3, extensions),
  );
  const signature = sign("sha256", tbs, privateKey); // DER-encoded ECDSA signature
  const certDer = seq(tbs, ecdsaWithSha256, bitString(signature));
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${certDer.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`,
  };
}

function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

// --- a minimal DER writer (X.690), enough for one certificate ---

function tagged(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else if (len < 0x100) header = Buffer.from([tag, 0x81, len]);
  else header = Buffer.from([tag, 0x82, len >> 8, len & 0xff]); // certificates here stay under 64 KB
  return Buffer.concat([header, content]);
}

function seq(...items: Buffer[]): Buffer {
  return tagged(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tagged(0x31, Buffer.concat(items));
}

function integer(unsigned: Buffer): Buffer {
  let bytes = unsigned;
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tagged(0x02, bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tagged(0x06, Buffer.from(out));
}

function utf8String(text: string): Buffer {
  return tagged(0x0c, Buffer.from(text, "utf8"));
}

function bitString(bytes: Buffer): Buffer {
  return tagged(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), Buffer.from([0x01, 0x01, 0xff]), tagged(0x04, value)) : seq(oid(id), tagged(0x04, value));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2025-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "") + "Z"; // 20250102030405Z
  const year = new Date(ms).getUTCFullYear();
  return year < 2050 ? tagged(0x17, Buffer.from(digits.slice(2), "ascii")) : tagged(0x18, Buffer.from(digits, "ascii"));
}

function ipBytes(address: string): Buffer {
  if (net.isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  return Buffer.from(expandIpv6(address).join(""), "hex");
}
