import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSelfSignedCertificate, loadOrCreateCertificate } from "./tls-certificate.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "posthorn-tls-"));
  dirs.push(d);
  return d;
}

describe("the self-signed submission certificate", () => {
  test("is a valid self-signed X.509 v3 server certificate for the hostname, localhost and loopback", () => {
    const now = Date.UTC(2030, 0, 1);
    const { cert, key } = generateSelfSignedCertificate("smtp.example.test", now);
    const x509 = new X509Certificate(cert);
    assert.equal(x509.subject, "CN=smtp.example.test");
    assert.equal(x509.issuer, x509.subject);
    assert.ok(x509.verify(createPublicKey(key)), "signed by its own key");
    assert.ok(x509.checkPrivateKey(createPrivateKey(key)));
    assert.equal(x509.ca, false);
    assert.equal(x509.subjectAltName, "DNS:smtp.example.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    assert.ok(Date.parse(x509.validFrom) < now && Date.parse(x509.validTo) > now + 3000 * 86_400_000);
    assert.ok(x509.checkHost("smtp.example.test"));
  });

  test("is generated once into the data directory and reused; an expired one is replaced", () => {
    const dataDir = tempDir();
    const first = loadOrCreateCertificate({ configured: null, dataDir, hostname: "mx.test" });
    assert.equal(first.generated, true);
    assert.equal(statSync(join(dataDir, "smtp-tls", "key.pem")).mode & 0o777, 0o600);
    const again = loadOrCreateCertificate({ configured: null, dataDir, hostname: "mx.test" });
    assert.equal(again.generated, false);
    assert.equal(again.fingerprint256, first.fingerprint256);
    const later = loadOrCreateCertificate({ configured: null, dataDir, hostname: "mx.test", now: Date.now() + 4000 * 86_400_000 });
    assert.equal(later.generated, true);
    assert.notEqual(later.fingerprint256, first.fingerprint256);
  });

  test("a certificate from config is used as given", () => {
    const given = generateSelfSignedCertificate("given.test");
    const loaded = loadOrCreateCertificate({ configured: given, dataDir: "/nonexistent", hostname: "x" });
    assert.equal(loaded.cert, given.cert);
    assert.equal(loaded.generated, false);
    assert.equal(loaded.fingerprint256, new X509Certificate(given.cert).fingerprint256);
  });
});
