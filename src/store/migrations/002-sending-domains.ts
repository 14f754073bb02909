// Tables for sending domains and their DKIM keys (src/sending-domains/). Domains belong to the
// account, not to a workspace, so there is no workspace_id.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function sendingDomains(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  const autoId = (name: string, db: Db) =>
    db.schema.createTable(name).addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()));
  return {
    async up(db: Db) {
      await autoId("sending_domains", db)
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("return_path_domain", "text", (c) => c.notNull())
        .addColumn("spf_verified_at", t.bigint)
        .addColumn("return_path_verified_at", t.bigint)
        .addColumn("last_checked_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();

      await autoId("dkim_keys", db)
        .addColumn("domain_id", t.bigint, (c) => c.notNull().references("sending_domains.id").onDelete("cascade"))
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("selector", "text", (c) => c.notNull())
        .addColumn("rsa_public_key", "text", (c) => c.notNull())
        .addColumn("rsa_private_key", "text", (c) => c.notNull())
        .addColumn("ed25519_selector", "text", (c) => c.notNull())
        .addColumn("ed25519_public_key", "text", (c) => c.notNull())
        .addColumn("ed25519_private_key", "text", (c) => c.notNull())
        .addColumn("rsa_verified_at", t.bigint)
        .addColumn("ed25519_verified_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("activated_at", t.bigint)
        .addColumn("revoked_at", t.bigint)
        .execute();
      await db.schema.createIndex("dkim_keys_selector").on("dkim_keys").columns(["domain_id", "selector"]).unique().execute();
      // At most one pending and one active key per domain, enforced by the database so that two
      // rotations racing on PostgreSQL cannot both succeed.
      await db.schema
        .createIndex("dkim_keys_one_per_state")
        .on("dkim_keys")
        .columns(["domain_id", "state"])
        .unique()
        .where(sql.ref("state"), "in", ["pending", "active"])
        .execute();
    },
  };
}
