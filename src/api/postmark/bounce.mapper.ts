// Bounce records in Postmark's Bounce shape.
import { BOUNCE_TYPES } from "../../bounces/bounce-types.js";
import type { BounceRecord } from "../../bounces/bounces.service.js";
import { postmarkServerId } from "./server.routes.js";

export function toBounce(b: BounceRecord) {
  return {
    RecordType: "Bounce",
    ID: b.id,
    Type: b.type,
    TypeCode: b.typeCode,
    Name: BOUNCE_TYPES[b.type].name,
    Tag: b.tag ?? "",
    MessageID: b.messageId,
    ServerID: postmarkServerId(b.workspaceId),
    Description: b.description,
    Details: b.details,
    Email: b.email,
    From: b.from,
    BouncedAt: new Date(b.bouncedAt).toISOString(),
    DumpAvailable: b.dumpAvailable,
    Inactive: b.inactive,
    CanActivate: b.canActivate,
    Subject: b.subject,
    MessageStream: b.stream,
  };
}
