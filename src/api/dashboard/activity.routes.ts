// PLACEHOLDER: the dashboard's activity calls (issue 13), replaced by the real ones.
import type { FastifyInstance } from "fastify";

export function activityRoutes(_deps: unknown) {
  return async function routes(_app: FastifyInstance): Promise<void> {};
}
