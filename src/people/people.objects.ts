// Objects (a company, an account: typed by object_type_id) and people's relationships to them.
// They carry attributes like people do (null removes one, the same limits) and have no events of
// their own in the event map yet: nothing reacts to them until segments read relationships.
import type { Db } from "../store/store.js";
import type { PersonIdentifier, PersonOperation } from "./people.port.js";
import type { PeopleRepository } from "./people.repository.js";
import { ATTRIBUTES_MAX_COUNT } from "./people.limits.js";
import { PEOPLE_ATTRIBUTES_LIMIT } from "./people.errors.js";

type ObjectOperation = Extract<PersonOperation, { op: "identify_object" | "delete_object" | "relate" | "unrelate" }>;

export interface ObjectContext {
  trx: Db;
  workspaceId: string;
  now: number;
  people: PeopleRepository;
  /** The person to relate (found, or created for an unknown id or email); refused for an unknown cio_id. */
  personFor(who: PersonIdentifier): Promise<{ personId: string; suppressed: boolean }>;
}

export async function applyObjectOperation(op: ObjectOperation, ctx: ObjectContext): Promise<string | null> {
  const { typeId, objectId } = op.object;
  switch (op.op) {
    case "identify_object": {
      await setObject(ctx, typeId, objectId, op.attributes ?? {});
      return null;
    }
    case "delete_object":
      await ctx.people.deleteObject(ctx.trx, ctx.workspaceId, typeId, objectId);
      return null;
    case "relate": {
      const person = await ctx.personFor(op.who);
      if (person.suppressed) return person.personId;
      // Relating to an object not seen yet creates it, as Customer.io does.
      if (!(await ctx.people.findObject(ctx.trx, ctx.workspaceId, typeId, objectId))) await setObject(ctx, typeId, objectId, {});
      await ctx.people.relate(ctx.trx, { workspace_id: ctx.workspaceId, person_id: person.personId, type_id: typeId, object_id: objectId, attributes_json: JSON.stringify(dropNulls(op.attributes ?? {})), created_at: ctx.now });
      return person.personId;
    }
    case "unrelate": {
      const person = await ctx.personFor(op.who);
      await ctx.people.unrelate(ctx.trx, person.personId, typeId, objectId);
      return person.personId;
    }
  }
}

async function setObject(ctx: ObjectContext, typeId: string, objectId: string, given: Record<string, unknown>): Promise<void> {
  const found = await ctx.people.findObject(ctx.trx, ctx.workspaceId, typeId, objectId);
  const attributes = found ? (JSON.parse(found.attributes_json) as Record<string, unknown>) : {};
  for (const [name, value] of Object.entries(given)) {
    if (value === null || value === undefined) delete attributes[name];
    else attributes[name] = value;
  }
  if (Object.keys(attributes).length > ATTRIBUTES_MAX_COUNT) throw PEOPLE_ATTRIBUTES_LIMIT(`The object would have more than ${ATTRIBUTES_MAX_COUNT} attributes.`, { field: "attributes" });
  await ctx.people.upsertObject(ctx.trx, { workspace_id: ctx.workspaceId, type_id: typeId, object_id: objectId, attributes_json: JSON.stringify(attributes), created_at: ctx.now, updated_at: ctx.now });
}

function dropNulls(attributes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== null && v !== undefined));
}
