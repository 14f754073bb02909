// Reading the App API's path and query parameters into our words, each refusal naming its field.
import type { FastifyRequest } from "fastify";
import type { PersonIdentifier } from "../../people/people.port.js";
import { AppRequestInvalid } from "./app-api.errors.js";

type Query = Record<string, string | string[] | undefined>;

function one(request: FastifyRequest, key: string): string | undefined {
  const value = (request.query as Query)[key];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** `limit` from 1 to `max` (default `fallback`). */
export function limitParam(request: FastifyRequest, fallback: number, max: number): number {
  const raw = one(request, "limit");
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw AppRequestInvalid(`limit must be a whole number from 1 to ${max}.`, { field: "limit" });
  return Number(raw);
}

/** The `start` cursor of a paged call (null: the first page). */
export function startParam(request: FastifyRequest): string | null {
  const raw = one(request, "start");
  return raw === undefined || raw === "" ? null : raw;
}

export function queryParam(request: FastifyRequest, key: string): string | undefined {
  return one(request, key);
}

/** The person named in the path, by `id_type` (id, email or cio_id; id by default), as Customer.io's App API names people. */
export function personParam(request: FastifyRequest): PersonIdentifier {
  const { id } = request.params as { id: string };
  const type = one(request, "id_type") ?? "id";
  if (type !== "id" && type !== "email" && type !== "cio_id") throw AppRequestInvalid("id_type must be id, email or cio_id.", { field: "id_type" });
  if (id === "") throw AppRequestInvalid("The customer identifier in the path is empty.", { field: "customer_id" });
  return { kind: type, value: id };
}

export function segmentIdParam(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
