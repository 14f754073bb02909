// Reading a dashboard call's input (body, query, path parameters) through its contract schema:
// the first problem becomes a 400 DASHBOARD_REQUEST_INVALID naming the field, in the form every
// dashboard error has.
import type { z } from "zod";
import { DashboardRequestInvalid } from "./dashboard.edge-errors.js";

export function readInput<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  throw DashboardRequestInvalid(`The ${what} is not valid${at}: ${issue?.message ?? "unreadable"}.`);
}
