// The setting of the App API's end-to-end tests: a test server on a fresh database (SQLite or
// PostgreSQL) relaying to an SMTP sink, on a clock the test moves, with two workspaces ("shop",
// whose calls a test makes, and "rival", whose calls must never reach shop's data) and an App key
// for each; plus the official customerio-node client pointed at such a server.
import http from "node:http";
import { APIClient } from "customerio-node";
import { startTestServer, type TestServer } from "./server.js";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.js";
import { appApi, type AppApi, type MovableClock } from "./segments.js";
import type { ServerDatabase } from "./stores.js";

export interface AppApiWorld {
  sink: SmtpSink;
  server: TestServer;
  /** shop's workspace id. */
  workspaceId: string;
  shopKey: string;
  rivalKey: string;
  api: AppApi;
  rival: AppApi;
  close(): Promise<void>;
}

export async function startAppApiWorld(database: ServerDatabase, clock: MovableClock, env: Record<string, string> = {}): Promise<AppApiWorld> {
  const db = await database.open();
  const sink = await startSmtpSink();
  const server = await startTestServer({ POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false", ...env, ...db.env }, { clock });
  await server.createWorkspace("shop");
  await server.createWorkspace("rival");
  const workspaceId = (await server.app.services.workspaces.get("shop")).id;
  const shopKey = await server.app.services.workspaces.createAppKey("shop");
  const rivalKey = await server.app.services.workspaces.createAppKey("rival");
  return {
    sink,
    server,
    workspaceId,
    shopKey,
    rivalKey,
    api: appApi(server.url, shopKey),
    rival: appApi(server.url, rivalKey),
    async close() {
      await server.close();
      await sink.close();
      await db.drop();
    },
  };
}

/** customerio-node's APIClient for a test server: the client ignores its url's port and scheme (reference §1.2), so they go in as request options. */
export function cioClient(url: string, key: string): APIClient {
  const u = new URL(url);
  return new APIClient(key, { url: `${url}/v1`, port: Number(u.port), protocol: "http:", agent: new http.Agent() } as never);
}
