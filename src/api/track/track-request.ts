// What the Track API's routes share: their dependencies, the workspace a request authenticated as,
// and applying one call's operations all or nothing.
import type { FastifyRequest } from "fastify";
import type { PeopleIngest, PersonOperation } from "../../people/people.port.js";
import type { SegmentsService } from "../../segments/segments.port.js";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { PosthornError } from "../../shared/errors.js";
import { TrackCredentialsInvalid } from "./track.edge-errors.js";

export interface TrackApiDeps {
  workspaces: WorkspacesService;
  people: PeopleIngest;
  /** Manual segments (POST /api/v1/segments/{id}/add_customers, /remove_customers); without it those calls are not served. */
  segments: Pick<SegmentsService, "addPeople" | "removePeople"> | null;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The workspace a Track API request authenticated as (null until its onRequest hook ran). */
    trackWorkspace: Workspace | null;
  }
}

/** The authenticated workspace of a request that passed the onRequest hook. */
export function workspaceOf(request: FastifyRequest): Workspace {
  if (!request.trackWorkspace) throw TrackCredentialsInvalid("Unauthorized request.");
  return request.trackWorkspace;
}

/**
 * Applies one call's operations, all or nothing (Track v1 calls and v2 /entity), and throws the
 * first refusal as the coded error the people domain gave, naming its field.
 */
export async function applyAtomically(people: PeopleIngest, request: FastifyRequest, operations: PersonOperation[]): Promise<void> {
  if (operations.length === 0) return;
  const results = await people.apply(workspaceOf(request).id, operations, { atomic: true });
  const refused = results.find((r) => !r.ok);
  if (refused && !refused.ok) throw new PosthornError(refused.code, refused.message, { field: refused.field });
}
