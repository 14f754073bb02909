// What export and import share on the command line: the migrations this Posthorn knows, the
// fingerprint of the key a data directory or the config gives.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../config/config.schema.js";
import { ENCRYPTION_KEY_FILE, loadEncryptionKey } from "../app/encryption-key.js";
import { migrationProvider } from "../store/migrations.js";
import { keyCheck } from "../store/transfer/format.js";

/** Every migration of this version, in the order they apply (by name, as Kysely sorts them). */
export async function knownMigrations(): Promise<string[]> {
  return Object.keys(await migrationProvider("sqlite").getMigrations()).sort();
}

/** The fingerprint of the key the installation uses: POSTHORN_ENCRYPTION_KEY, else an existing key file (none is created here). */
export function installationKeyCheck(config: Config): string | null {
  if (config.encryptionKey) return keyCheck(config.encryptionKey);
  if (!existsSync(join(resolve(config.dataDir), ENCRYPTION_KEY_FILE))) return null;
  return keyCheck(loadEncryptionKey({ configured: null, dataDir: config.dataDir }).key);
}

