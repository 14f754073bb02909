// PLACEHOLDER: the dashboard's journeys calls (issue 13), replaced by the real ones.
import type { FastifyInstance } from "fastify";

export function journeysRoutes(_deps: unknown) {
  return async function routes(_app: FastifyInstance): Promise<void> {};
}
