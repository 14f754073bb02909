// The HTTPS listener's certificate: the configured files, or a self-signed certificate generated
// with `selfsigned` on first start and kept in <dataDir>/track-tls/ (directory 0700, files 0600:
// owner-only, the key is a secret), reused on later starts until it expires. Clients trust it by
// pinning it (`ca: <cert.pem>` in customerio-node's options) or, for tests, rejectUnauthorized:false.
//
// `selfsigned` 2.x builds the certificate with node-forge (RSA 2048, SHA-256); its key pair comes
// from node:crypto when available, which takes well under a second.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { join } from "node:path";
import { lazyModule } from "../../shared/lazy-module.js";

const selfsigned = lazyModule<typeof import("selfsigned")>("selfsigned");

export interface TrackCertificate {
  cert: string;
  key: string;
  /** Where the certificate is kept (the configured file, or the generated one). */
  certPath: string;
  /** Whether this start generated it. */
  generated: boolean;
  fingerprint256: string;
}

/** Validity of a generated certificate: 10 years (3,650 days), so a pinned certificate needs no renewal. */
export const TRACK_CERT_DAYS = 3650;
export const TRACK_TLS_DIR = "track-tls";

export function loadTrackCertificate(options: { configured: { certFile: string; keyFile: string } | null; dataDir: string; hostname: string; now?: number }): TrackCertificate {
  if (options.configured) {
    const cert = readFileSync(options.configured.certFile, "utf8");
    const key = readFileSync(options.configured.keyFile, "utf8");
    return { cert, key, certPath: options.configured.certFile, generated: false, fingerprint256: new X509Certificate(cert).fingerprint256 };
  }
  const dir = join(options.dataDir, TRACK_TLS_DIR);
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, "utf8");
    const parsed = new X509Certificate(cert);
    if (Date.parse(parsed.validTo) > (options.now ?? Date.now())) {
      return { cert, key: readFileSync(keyPath, "utf8"), certPath, generated: false, fingerprint256: parsed.fingerprint256 };
    }
  }
  const created = generate(options.hostname);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Key first, each written whole under a temporary name and renamed: a crash midway never leaves
  // a certificate without its key.
  writeAtomically(keyPath, created.private);
  writeAtomically(certPath, created.cert);
  return { cert: created.cert, key: created.private, certPath, generated: true, fingerprint256: new X509Certificate(created.cert).fingerprint256 };
}

/** A server certificate for the host name, localhost, 127.0.0.1 and ::1. */
function generate(hostname: string): { cert: string; private: string } {
  const names = [...new Set([hostname.toLowerCase(), "localhost", "127.0.0.1", "::1"])];
  const altNames = names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }));
  return selfsigned().generate([{ name: "commonName", value: hostname.slice(0, 64) }], {
    keySize: 2048,
    days: TRACK_CERT_DAYS,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
}

function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}
