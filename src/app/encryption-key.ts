// The key that seals secrets at rest (secret-box.ts): POSTHORN_ENCRYPTION_KEY when set, otherwise
// a key file in the data directory, created on first use. The file suits a single machine; every
// process sharing one PostgreSQL must use the same key, so there the key belongs in the config
// (secret-box.ts names the mismatch when it happens).
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeKey } from "../config/config.schema.js";

export const ENCRYPTION_KEY_FILE = "encryption.key";
const KEY_BYTES = 32;
/** Owner read/write only: the key opens every DKIM private key. */
const KEY_FILE_MODE = 0o600;

export interface EncryptionKey {
  key: Buffer;
  /** "config": POSTHORN_ENCRYPTION_KEY; "file": an existing key file; "created": a key file made now. */
  source: "config" | "file" | "created";
  /** The key file, when one is used. */
  path: string | null;
  /** The key file is readable or writable by group or others; worth a warning in the log. */
  looseFileMode: boolean;
}

/**
 * Returns the configured key, or reads (creating it on first use) <dataDir>/encryption.key, which
 * holds the key as 64 hex characters — the form POSTHORN_ENCRYPTION_KEY accepts, so the file can
 * be moved into the config later. Synchronous: it runs once at start, before anything is served.
 */
export function loadEncryptionKey(options: { configured: Buffer | null; dataDir: string }): EncryptionKey {
  if (options.configured) {
    if (options.configured.length !== KEY_BYTES) throw new Error(`the encryption key must be ${KEY_BYTES} bytes`);
    return { key: options.configured, source: "config", path: null, looseFileMode: false };
  }
  const path = join(resolve(options.dataDir), ENCRYPTION_KEY_FILE);
  const existing = readKeyFile(path);
  if (existing) return existing;
  mkdirSync(resolve(options.dataDir), { recursive: true });
  // Written whole to a private temporary file, then linked into place: link() fails if the name
  // exists, so of two processes starting at once exactly one key wins, and nobody can read a
  // half-written file (which a plain open(O_EXCL)-then-write would allow).
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, `${randomBytes(KEY_BYTES).toString("hex")}\n`, { mode: KEY_FILE_MODE, flag: "wx", flush: true });
  let created = false;
  try {
    linkSync(temporary, path);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(temporary);
  }
  if (created) fsyncDirectory(resolve(options.dataDir));
  const loaded = readKeyFile(path);
  if (!loaded) throw new Error(`${path} vanished while it was being created`);
  return { ...loaded, source: created ? "created" : "file" };
}

function readKeyFile(path: string): EncryptionKey | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const key = decodeKey(text);
  if (!key) throw new Error(`${path} does not hold a 32-byte key (64 hex characters or base64); fix or remove it — removing it makes existing DKIM keys unreadable`);
  return { key, source: "file", path, looseFileMode: (statSync(path).mode & 0o077) !== 0 };
}

/** Makes the new directory entry durable, so a power cut cannot lose the key of DKIM keys already committed. */
function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot open a directory for fsync; the file itself was flushed.
  }
}
