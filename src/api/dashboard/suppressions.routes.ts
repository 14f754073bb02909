// PLACEHOLDER: the dashboard's suppressions calls (issue 13), replaced by the real ones.
import type { FastifyInstance } from "fastify";

export function suppressionsRoutes(_deps: unknown) {
  return async function routes(_app: FastifyInstance): Promise<void> {};
}
