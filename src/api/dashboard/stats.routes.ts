// PLACEHOLDER: the dashboard's stats calls (issue 13), replaced by the real ones.
import type { FastifyInstance } from "fastify";

export function statsRoutes(_deps: unknown) {
  return async function routes(_app: FastifyInstance): Promise<void> {};
}
