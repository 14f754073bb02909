// The values this code takes from Kysely (`sql`, the dialects, the migrator), from its CommonJS
// build. Loaded by `import`, Node takes Kysely's ES module build: about 260 files, each resolved
// and linked by the ES module loader, ~90 ms more CPU than the same code through `require`, paid
// by every server start, CLI command and test process. Types still come from "kysely" itself
// (`import type`): they are erased. Every value goes through here, so only one copy of Kysely
// is ever loaded (eslint.config.js refuses a value import of "kysely" elsewhere). The server and
// test bundles replace this module with a re-export from "kysely" and inline Kysely's code
// (scripts/bundle-server.js): bundled, it is one chunk to parse, cheaper again than the require.
import { createRequire } from "node:module";
import type * as K from "kysely";

const kysely = createRequire(import.meta.url)("kysely") as typeof import("kysely");

export const { sql, CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver } = kysely;
// The classes' instance types, under the same names as their values (as a class's name is both).
export type CompiledQuery<O = unknown> = K.CompiledQuery<O>;
export type Kysely<DB> = K.Kysely<DB>;
export type Migrator = K.Migrator;
export type PostgresDialect = K.PostgresDialect;
export type SqliteDialect = K.SqliteDialect;
export type SqliteDriver = K.SqliteDriver;
