// Configuration of the store: where the embedded SQLite database lives, or which PostgreSQL
// database replaces it.
import { z } from "zod";
import { configFragment, flag, redactUrl } from "../config/config.fragment.js";

export interface StoreConfigPart {
  /** The data directory: the SQLite database, and the files kept beside it (key file, TLS certificate). */
  dataDir: string;
  /** null: the embedded SQLite database under dataDir. */
  databaseUrl: string | null;
  /** PostgreSQL: statements named and prepared once per connection (src/store/pg-named-statements.ts). */
  databaseNamedStatements: boolean;
}

export const storeConfig = configFragment({
  name: "store",
  keys: {
    /** Where the SQLite database and the generated files (key, TLS certificate) live. */
    POSTHORN_DATA_DIR: z.string().min(1).default("./data"),
    /** A postgres:// URL switches the store to PostgreSQL. */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL (leave unset for the embedded SQLite)")
      .optional(),
    /**
     * PostgreSQL: send statements as named ones, each parsed once per connection. Off for a pooler
     * that shares server connections between clients without tracking them (PgBouncer in
     * transaction mode before 1.21, or without max_prepared_statements).
     */
    POSTHORN_DATABASE_NAMED_STATEMENTS: flag(true),
  },
  toConfig: (e): StoreConfigPart => ({ dataDir: e.POSTHORN_DATA_DIR, databaseUrl: e.DATABASE_URL ?? null, databaseNamedStatements: e.POSTHORN_DATABASE_NAMED_STATEMENTS }),
  redact: (part) => ({ databaseUrl: part.databaseUrl === null ? null : redactUrl(part.databaseUrl) }),
});
