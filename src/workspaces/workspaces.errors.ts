import { defineError } from "../shared/errors.js";

export const WorkspaceNotFound = defineError("WORKSPACE_NOT_FOUND", "No workspace has that name or id.");
export const WorkspaceExists = defineError("WORKSPACE_EXISTS", "A workspace with that name already exists.");
export const WorkspaceNameInvalid = defineError("WORKSPACE_NAME_INVALID", "Workspace names are 1–64 characters: letters, digits, '.', '-' and '_'.");
export const TokenInvalid = defineError("TOKEN_INVALID", "Request does not contain a valid Server token.");
export const StreamNotFound = defineError("STREAM_NOT_FOUND", "The message stream does not exist in this workspace.");
export const StreamNotSendable = defineError("STREAM_NOT_SENDABLE", "Inbound streams cannot send messages.");
export const InboundDomainTaken = defineError("INBOUND_DOMAIN_TAKEN", "That inbound domain is used by another workspace.");
export const StreamInvalid = defineError("STREAM_INVALID", "A message stream field is missing or invalid (ID, Name, MessageStreamType, Description, unsubscribe handling).");
export const StreamExists = defineError("STREAM_EXISTS", "The workspace already has a message stream with that ID.");
export const StreamLimitReached = defineError("STREAM_LIMIT_REACHED", "The workspace has the most message streams it may have (10, counting the default and archived ones).");
export const InboundStreamExists = defineError("INBOUND_STREAM_EXISTS", "The workspace already has its one inbound stream.");
export const StreamNotArchivable = defineError("STREAM_NOT_ARCHIVABLE", "Default streams (outbound, inbound, broadcast) cannot be archived.");
export const StreamArchived = defineError("STREAM_ARCHIVED", "The message stream is archived: it refuses mail and cannot be edited until it is unarchived.");
