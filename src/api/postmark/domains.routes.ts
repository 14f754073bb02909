// Postmark's Domains API (account token): /domains and its verify and rotate calls, in the
// shapes the official client 5.1.0 expects (models/domains/Domain.d.ts). Fields past Postmark's
// (DMARC suggestion, Ed25519 records, verification times) are additions a Postmark client
// ignores; see docs in src/sending-domains/README.md.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { SendingDomain, SendingDomainsService } from "../../sending-domains/sending-domains.service.js";
import { DomainInvalid } from "../../sending-domains/sending-domains.errors.js";

export interface DomainsRoutesDeps {
  domains: SendingDomainsService;
}

/** Postmark: "count … Max 500". */
const MAX_COUNT = 500;
const DEFAULT_COUNT = 100;

/** The plugin for accountPlugin's `routes` (HttpServerDeps.accountRoutes). */
export function domainsRoutes(deps: DomainsRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const { domains } = deps;
  return async (app) => {
    app.get("/domains", async (request) => {
      const q = request.query as Record<string, unknown>;
      const count = intParam(q, "count", DEFAULT_COUNT);
      const offset = intParam(q, "offset", 0);
      if (count < 1 || count > MAX_COUNT) throw DomainInvalid(`'count' must be between 1 and ${MAX_COUNT}.`);
      const page = await domains.list({ count, offset });
      return { TotalCount: page.total, Domains: page.domains.map(toDomain) };
    });

    app.get("/domains/:id", async (request) => toDomainDetails(await domains.get(domainId(request))));

    app.post("/domains", async (request) => {
      const body = objectBody(request);
      return toDomainDetails(await domains.create({ name: body.Name, returnPathDomain: body.ReturnPathDomain }, { requestId: request.id }));
    });

    app.put("/domains/:id", async (request) => {
      const id = domainId(request);
      const body = objectBody(request);
      if (!Object.hasOwn(body, "ReturnPathDomain")) {
        throw DomainInvalid("'ReturnPathDomain' is required; it is the only field of a domain that can be changed (send \"\" for the default).");
      }
      return toDomainDetails(await domains.updateReturnPath(id, body.ReturnPathDomain));
    });

    app.delete("/domains/:id", async (request) => {
      const name = await domains.delete(domainId(request), { requestId: request.id });
      return { ErrorCode: 0, Message: `Domain ${name} removed.` };
    });

    // The client sends these four with an empty JSON body (reference §1.1); json-body.ts parses it as {}.
    app.put("/domains/:id/verifyDKIM", async (request) => toDomainDetails(await domains.verifyDkim(domainId(request))));
    app.put("/domains/:id/verifyReturnPath", async (request) => toDomainDetails(await domains.verifyReturnPath(domainId(request))));
    app.post("/domains/:id/verifySPF", async (request) => toDomainDetails(await domains.verifySpf(domainId(request))));
    app.post("/domains/:id/rotateDKIM", async (request) => toDomainDetails(await domains.rotateDkim(domainId(request), { requestId: request.id })));
  };
}

function toDomain(d: SendingDomain) {
  return {
    ID: d.id,
    Name: d.name,
    SPFVerified: d.spfVerifiedAt !== null,
    DKIMVerified: d.dkimVerified,
    // Postmark flags keys under 1024 bits; ours are always RSA-2048.
    WeakDKIM: false,
    ReturnPathDomainVerified: d.returnPathVerifiedAt !== null,
  };
}

/** Also the DNS half of a sender signature's details (senders.routes.ts). */
export function toDomainDetails(d: SendingDomain) {
  const ed = d.ed25519Enabled;
  return {
    ...toDomain(d),
    SPFHost: d.records.spf.host,
    SPFTextValue: d.records.spf.value,
    DKIMHost: d.activeKey?.record.host ?? "",
    DKIMTextValue: d.activeKey?.record.value ?? "",
    DKIMPendingHost: d.pendingKey?.record.host ?? "",
    DKIMPendingTextValue: d.pendingKey?.record.value ?? "",
    DKIMRevokedHost: d.revokedKey?.record.host ?? "",
    DKIMRevokedTextValue: d.revokedKey?.record.value ?? "",
    SafeToRemoveRevokedKeyFromDNS: d.safeToRemoveRevokedKey,
    DKIMUpdateStatus: d.dkimUpdateStatus,
    ReturnPathDomain: d.returnPathDomain,
    ReturnPathDomainCNAMEValue: d.records.returnPath.value,
    // Posthorn's additions. Ed25519 records are empty unless POSTHORN_DKIM_ED25519 is on.
    DKIMEd25519Host: (ed && d.activeKey?.ed25519Record.host) || "",
    DKIMEd25519TextValue: (ed && d.activeKey?.ed25519Record.value) || "",
    DKIMEd25519Verified: ed && d.activeKey?.ed25519VerifiedAt != null,
    DKIMEd25519PendingHost: (ed && d.pendingKey?.ed25519Record.host) || "",
    DKIMEd25519PendingTextValue: (ed && d.pendingKey?.ed25519Record.value) || "",
    DKIMEd25519RevokedHost: (ed && d.revokedKey?.ed25519Record.host) || "",
    DKIMEd25519RevokedTextValue: (ed && d.revokedKey?.ed25519Record.value) || "",
    DMARCHost: d.records.dmarc.host,
    DMARCTextValue: d.records.dmarc.value,
    SPFVerifiedAt: iso(d.spfVerifiedAt),
    DKIMVerifiedAt: iso(d.activeKey?.rsaVerifiedAt ?? null),
    ReturnPathDomainVerifiedAt: iso(d.returnPathVerifiedAt),
    LastCheckedAt: iso(d.lastCheckedAt),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** IDs are positive whole numbers (Postmark's are); anything else is a bad request, not an unknown domain. */
function domainId(request: FastifyRequest): number {
  const { id } = request.params as { id: string };
  if (!/^\d{1,15}$/.test(id) || Number(id) < 1) throw DomainInvalid(`The domain ID must be a positive whole number; got '${id}'.`);
  return Number(id);
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw DomainInvalid("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

function intParam(q: Record<string, unknown>, key: string, fallback: number): number {
  const raw = Array.isArray(q[key]) ? (q[key] as unknown[])[0] : q[key];
  if (raw === undefined || raw === "") return fallback;
  if (typeof raw !== "string" || !/^\d{1,9}$/.test(raw)) throw DomainInvalid(`'${key}' must be a whole number.`);
  return Number(raw);
}
