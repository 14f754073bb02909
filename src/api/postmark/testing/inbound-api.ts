// A listening HTTP server over a temporary SQLite store with real services, for the inbound API
// tests: workspaces with a ServerClient each, and a way to receive mail at a chosen time.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { ServerClient } from "postmark";
import { openTempSqlite } from "../../../../test/support/stores.js";
import { loadConfig } from "../../../config/config.schema.js";
import { buildContainer } from "../../../app/container.js";
import { silentLogger } from "../../../shared/logger.js";
import type { Store } from "../../../store/store.js";
import type { Workspace, WorkspacesService } from "../../../workspaces/workspaces.service.js";
import type { SendingDomainsService } from "../../../sending-domains/sending-domains.service.js";
import { InboundService } from "../../../inbound/inbound.service.js";
import { InboundMessagesRepository } from "../../../inbound/inbound-messages.repository.js";
import type { InboundState } from "../../../inbound/inbound.schema.js";
import { buildHttpServer } from "../../http.server.js";
import { destinationPolicy } from "../../../webhooks/webhook-destinations.js";
import { createInboundDomainProof } from "../../../inbound/inbound-domain-proof.js";
import { reservedDomains } from "../../../inbound/reserved-domains.js";
import { startDnsTestServer, type DnsTestServer } from "../../../mta/testing/dns-test-server.js";

export const INBOUND_DOMAIN = "inbound.posthorn.test";
export const HOSTNAME = "posthorn.test";

export interface TestWorkspace {
  workspace: Workspace;
  token: string;
  client: ServerClient;
  /** The workspace's inbound hash: mail to <hash>[+mailbox]@INBOUND_DOMAIN reaches it. */
  hash: string;
  /** An address of the workspace on the shared inbound domain. */
  address(mailbox?: string): string;
}

export interface InboundApi {
  store: Store;
  app: FastifyInstance;
  /** "127.0.0.1:PORT" */
  host: string;
  baseUrl: string;
  workspaces: WorkspacesService;
  inbound: InboundService;
  /** Sending domains (a workspace may not take one as its inbound domain). */
  domains: SendingDomainsService;
  /** The DNS that proves custom inbound domains: set records in dns.zone. */
  dns: DnsTestServer;
  createWorkspace(name: string, options?: { sandbox?: boolean }): Promise<TestWorkspace>;
  /** Receives a raw message for one recipient as if the inbound SMTP listener had, at time `at` (ms). */
  receive(ws: TestWorkspace, input: { raw: string; recipient?: string; mailFrom?: string; at?: number }): Promise<{ id: string; state: InboundState }>;
  /** Sets a message's state directly, as its webhook's outcome would. */
  setState(id: string, state: InboundState): Promise<void>;
  close(): Promise<void>;
}

export async function startInboundApi(): Promise<InboundApi> {
  const store = await openTempSqlite();
  // Custom inbound domains are proven by DNS: tests publish their MX or TXT records in this zone.
  const dns = await startDnsTestServer({});
  const services = buildContainer(store, loadConfig({ POSTHORN_HOSTNAME: HOSTNAME, POSTHORN_ENCRYPTION_KEY: randomBytes(32).toString("hex") }), silentLogger());
  let now = Date.now();
  const inbound = new InboundService({
    store,
    clock: { now: () => now },
    workspaces: services.workspaces,
    repository: new InboundMessagesRepository(),
    outbox: services.outbox,
    inboundDomain: INBOUND_DOMAIN,
    hookDestinations: destinationPolicy([]),
    domainProof: createInboundDomainProof({ hostname: HOSTNAME, dnsServers: [dns.address], clock: { now: () => now }, timeoutMs: 1_000 }),
    reservedDomain: reservedDomains({ hostname: HOSTNAME, returnPathDomain: HOSTNAME, inboundDomain: INBOUND_DOMAIN, domains: services.domains }),
  });
  const app = buildHttpServer({ ...services, inbound, logger: silentLogger(), readiness: async () => ({ ready: true, body: { status: "ready" } }) });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  return {
    store,
    app,
    host,
    baseUrl: `http://${host}`,
    workspaces: services.workspaces,
    inbound,
    domains: services.domains,
    dns,
    async createWorkspace(name, options = {}) {
      const { workspace, serverToken } = await services.workspaces.create(name, { sandbox: options.sandbox === true });
      const { inboundHash } = await inbound.settings(workspace.id);
      return {
        workspace,
        token: serverToken,
        client: new ServerClient(serverToken, { useHttps: false, requestHost: host, timeout: 10 }),
        hash: inboundHash,
        address: (mailbox) => `${inboundHash}${mailbox ? `+${mailbox}` : ""}@${INBOUND_DOMAIN}`,
      };
    },
    async receive(ws, input) {
      if (input.at !== undefined) now = input.at;
      return inbound.receive({
        workspace: ws.workspace,
        mailFrom: input.mailFrom ?? "bounces@sender.test",
        recipient: input.recipient ?? ws.address(),
        raw: Buffer.from(input.raw.replace(/\r?\n/g, "\r\n"), "utf8"),
        auth: { headers: "", verdicts: { spf: "none", dkim: "none", dmarc: "none" } },
      });
    },
    async setState(id, state) {
      await store.db.updateTable("inbound_messages").set({ state }).where("id", "=", id).execute();
    },
    async close() {
      await app.close();
      await store.close();
      await dns.close();
    },
  };
}

/** A small raw message. */
export function rawMessage(fields: { from: string; to: string; subject: string; body?: string; headers?: string[] }): string {
  return [
    `From: ${fields.from}`,
    `To: ${fields.to}`,
    `Subject: ${fields.subject}`,
    "Date: Fri, 1 Mar 2024 10:00:00 +0000",
    `Message-ID: <${randomBytes(6).toString("hex")}@sender.test>`,
    ...(fields.headers ?? []),
    "",
    fields.body ?? "Hello.",
    "",
  ].join("\n");
}
