import { defineError } from "../shared/errors.js";

export const WorkspaceNotFound = defineError("WORKSPACE_NOT_FOUND", "No workspace has that name or id.");
export const WorkspaceExists = defineError("WORKSPACE_EXISTS", "A workspace with that name already exists.");
export const WorkspaceNameInvalid = defineError("WORKSPACE_NAME_INVALID", "Workspace names are 1–64 characters: letters, digits, '.', '-' and '_'.");
export const TokenInvalid = defineError("TOKEN_INVALID", "Request does not contain a valid Server token.");
export const StreamNotFound = defineError("STREAM_NOT_FOUND", "The message stream does not exist in this workspace.");
export const StreamNotSendable = defineError("STREAM_NOT_SENDABLE", "Inbound streams cannot send messages.");
export const InboundDomainTaken = defineError("INBOUND_DOMAIN_TAKEN", "That inbound domain is used by another workspace.");
