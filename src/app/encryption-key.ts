// The installation's encryption key: POSTHORN_ENCRYPTION_KEY when set; otherwise a random key
// kept in the data directory (created on first start, readable by the owner only), so that the
// two-command start needs no configuration. Processes sharing PostgreSQL must share the key:
// set POSTHORN_ENCRYPTION_KEY for them.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeKey, type Config } from "../config/config.schema.js";

const KEY_FILE = "encryption.key";

export function loadEncryptionKey(config: Pick<Config, "encryptionKey" | "dataDir">): Buffer {
  if (config.encryptionKey) return config.encryptionKey;
  const file = join(config.dataDir, KEY_FILE);
  try {
    const key = decodeKey(readFileSync(file, "utf8"));
    if (!key) throw new Error(`${file} does not hold a 32-byte key (base64 or hex)`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    // 'wx' fails if another process created the file first; then its key is the one to use.
    writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadEncryptionKey(config);
    throw err;
  }
}
