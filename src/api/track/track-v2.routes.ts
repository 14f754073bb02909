// Track API v2: POST /api/v2/entity (one operation, all or nothing) and POST /api/v2/batch
// ({batch:[…]}: every operation stands alone). A batch is one people.apply() call, so one durable
// commit however many operations it holds. Its answer, as Customer.io's: 200 `{}` when every
// operation was applied; 207 with `errors: [{batch_index, reason, field, message}]` when some were
// refused (the others were applied); 400 when the request itself is not a batch.
import type { FastifyInstance } from "fastify";
import type { OperationResult, PersonOperation } from "../../people/people.port.js";
import { isPosthornError } from "../../shared/errors.js";
import { applyAtomically, workspaceOf, type TrackApiDeps } from "./track-request.js";
import { TrackRequestInvalid } from "./track.edge-errors.js";
import { isObject } from "./identifiers.js";
import { entityOperations } from "./track-v2.translate.js";
import { jsonLargerThan } from "../../shared/json-size.js";

/** Customer.io's limits: an /entity request under 32 KB, a /batch under 500 KB, each operation in it under 32 KB. */
export const ENTITY_BODY_BYTES = 32 * 1024;
export const BATCH_BODY_BYTES = 500 * 1024;
export const BATCH_OPERATION_BYTES = 32 * 1024;

export interface BatchError {
  batch_index: number;
  reason: string;
  field: string | null;
  message: string;
}

export async function trackV2Routes(app: FastifyInstance, deps: TrackApiDeps): Promise<void> {
  app.post("/entity", { bodyLimit: ENTITY_BODY_BYTES }, async (request) => {
    await applyAtomically(deps.people, request, entityOperations(request.body));
    return {};
  });

  app.post("/batch", { bodyLimit: BATCH_BODY_BYTES }, async (request, reply) => {
    const { operations, owners, errors } = translateBatch(request.body);
    const results = operations.length > 0 ? await deps.people.apply(workspaceOf(request).id, operations, { atomic: false }) : [];
    errors.push(...refusals(results, owners));
    if (errors.length === 0) return {};
    errors.sort((a, b) => a.batch_index - b.batch_index);
    return reply.code(207).send({ errors });
  });
}

/** A batch's operations in order, which batch entry each came from, and the entries refused before applying. */
export function translateBatch(body: unknown): { operations: PersonOperation[]; owners: number[]; errors: BatchError[] } {
  if (!isObject(body) || !Array.isArray(body.batch)) throw TrackRequestInvalid("The body must be {\"batch\": [operations]}.", { field: "batch" });
  const operations: PersonOperation[] = [];
  const owners: number[] = [];
  const errors: BatchError[] = [];
  body.batch.forEach((entry: unknown, index: number) => {
    try {
      // JSON text without spaces: how large the operation is, whatever the sender's formatting.
      if (jsonLargerThan(entry, BATCH_OPERATION_BYTES)) {
        throw TrackRequestInvalid(`Operation ${index} is larger than ${BATCH_OPERATION_BYTES} bytes.`, { field: `batch[${index}]` });
      }
      for (const operation of entityOperations(entry)) {
        operations.push(operation);
        owners.push(index);
      }
    } catch (err) {
      if (!isPosthornError(err)) throw err;
      errors.push({ batch_index: index, reason: err.code.toLowerCase(), field: typeof err.details.field === "string" ? err.details.field : null, message: err.message });
    }
  });
  return { operations, owners, errors };
}

/** The refused operations, one error per batch entry (its first refusal). */
function refusals(results: OperationResult[], owners: number[]): BatchError[] {
  const seen = new Set<number>();
  const errors: BatchError[] = [];
  results.forEach((result, i) => {
    const index = owners[i]!;
    if (result.ok || seen.has(index)) return;
    seen.add(index);
    errors.push({ batch_index: index, reason: result.code.toLowerCase(), field: result.field, message: result.message });
  });
  return errors;
}
