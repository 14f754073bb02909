// GET/POST /triggers/inboundRules and DELETE /triggers/inboundRules/{id}: the inbound rules that
// block a sender address or a whole domain (Postmark's inbound rule triggers).
import type { FastifyInstance } from "fastify";
import { InboundRuleNotFound } from "../../inbound/inbound.errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { pageParams, requireWorkspace, type Query } from "./query-params.js";

/** Rules are listed up to 500 per call like every Postmark list; Postmark documents no count + offset window for them. */
const RULES_WINDOW = Number.MAX_SAFE_INTEGER;

export async function inboundRulesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/triggers/inboundRules", async (request) => {
    const workspace = requireWorkspace(request);
    const page = pageParams(request.query as Query, RULES_WINDOW);
    const { total, rules } = await deps.inbound.listRules(workspace.id, page);
    return { TotalCount: total, InboundRules: rules.map((r) => ({ ID: r.id, Rule: r.rule })) };
  });

  app.post("/triggers/inboundRules", async (request) => {
    const workspace = requireWorkspace(request);
    const body = request.body as { Rule?: unknown } | null | undefined;
    const rule = body !== null && typeof body === "object" && !Array.isArray(body) ? body.Rule : undefined;
    const created = await deps.inbound.createRule(workspace.id, rule);
    return { ID: created.id, Rule: created.rule };
  });

  app.delete("/triggers/inboundRules/:id", async (request) => {
    const workspace = requireWorkspace(request);
    const raw = (request.params as { id: string }).id;
    // Rule ids are numbers; anything else names no rule (15 digits stay within a safe integer).
    if (!/^\d{1,15}$/.test(raw)) throw InboundRuleNotFound(`No inbound rule with id '${raw}'.`);
    const id = Number(raw);
    const rule = await deps.inbound.deleteRule(workspace.id, id);
    return { ErrorCode: 0, Message: `Rule ${rule} removed.` };
  });
}
