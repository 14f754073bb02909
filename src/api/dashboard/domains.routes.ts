// PLACEHOLDER: the dashboard's domains calls (issue 13), replaced by the real ones.
import type { FastifyInstance } from "fastify";

export function domainsRoutes(_deps: unknown) {
  return async function routes(_app: FastifyInstance): Promise<void> {};
}
