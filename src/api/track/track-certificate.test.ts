// The HTTPS listener's certificate: generated once, owner-only, reused until it expires; the
// configured files used as given; and the configuration refusing a certificate without its key.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config/config.schema.js";
import { loadTrackCertificate, TRACK_CERT_DAYS, TRACK_TLS_DIR } from "./track-certificate.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "posthorn-track-tls-"));
  dirs.push(d);
  return d;
}

test("a generated certificate is kept owner-only in the data directory and reused until it expires", () => {
  const dataDir = tempDir();
  const first = loadTrackCertificate({ configured: null, dataDir, hostname: "track.example.test" });
  assert.equal(first.generated, true);
  const x509 = new X509Certificate(first.cert);
  assert.ok(x509.checkPrivateKey(createPrivateKey(first.key)));
  assert.ok(x509.checkHost("track.example.test") && x509.checkHost("localhost") && x509.checkIP("127.0.0.1"));
  assert.equal(x509.ca, false);
  assert.equal(statSync(join(dataDir, TRACK_TLS_DIR)).mode & 0o777, 0o700);
  for (const file of ["cert.pem", "key.pem"]) assert.equal(statSync(join(dataDir, TRACK_TLS_DIR, file)).mode & 0o777, 0o600, file);

  const again = loadTrackCertificate({ configured: null, dataDir, hostname: "track.example.test" });
  assert.deepEqual([again.generated, again.fingerprint256], [false, first.fingerprint256]);
  const expired = loadTrackCertificate({ configured: null, dataDir, hostname: "track.example.test", now: Date.now() + (TRACK_CERT_DAYS + 1) * 86_400_000 });
  assert.equal(expired.generated, true);
  assert.notEqual(expired.fingerprint256, first.fingerprint256);
});

test("configured files are used as given, and nothing is generated", () => {
  const source = loadTrackCertificate({ configured: null, dataDir: tempDir(), hostname: "given.test" });
  const dir = tempDir();
  writeFileSync(join(dir, "c.pem"), source.cert);
  writeFileSync(join(dir, "k.pem"), source.key);
  const dataDir = tempDir();
  const loaded = loadTrackCertificate({ configured: { certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") }, dataDir, hostname: "other.test" });
  assert.deepEqual([loaded.generated, loaded.fingerprint256, loaded.certPath], [false, source.fingerprint256, join(dir, "c.pem")]);
  assert.throws(() => statSync(join(dataDir, TRACK_TLS_DIR)));
  assert.throws(() => loadTrackCertificate({ configured: { certFile: join(dir, "missing.pem"), keyFile: join(dir, "k.pem") }, dataDir, hostname: "x" }), /ENOENT/);
});

test("the HTTPS listener is off by default; a certificate needs its key", () => {
  assert.deepEqual(loadConfig({}).trackApi, { httpsPort: null, tls: null });
  assert.deepEqual(loadConfig({ POSTHORN_TRACK_HTTPS_PORT: "8443", POSTHORN_TRACK_TLS_CERT: "/c", POSTHORN_TRACK_TLS_KEY: "/k" }).trackApi, { httpsPort: 8443, tls: { certFile: "/c", keyFile: "/k" } });
  assert.throws(() => loadConfig({ POSTHORN_TRACK_TLS_CERT: "/c" }), /POSTHORN_TRACK_TLS_CERT and POSTHORN_TRACK_TLS_KEY: set both or neither/);
  assert.throws(() => loadConfig({ POSTHORN_TRACK_HTTPS_PORT: "70000" }), /POSTHORN_TRACK_HTTPS_PORT/);
});
