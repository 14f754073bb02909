import { defineError } from "../shared/errors.js";

export const WorkspaceNotFound = defineError("WORKSPACE_NOT_FOUND", "No workspace has that name or id.");
export const WorkspaceExists = defineError("WORKSPACE_EXISTS", "A workspace with that name already exists.");
export const WorkspaceNameInvalid = defineError("WORKSPACE_NAME_INVALID", "Workspace names are 1–64 characters: letters, digits, spaces (not first or last), '.', '-' and '_'.");
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
export const WorkspaceColorInvalid = defineError("WORKSPACE_COLOR_INVALID", "The server color is not one of purple, blue, turqoise, green, red, yellow, grey.");
export const WorkspaceSettingInvalid = defineError("WORKSPACE_SETTING_INVALID", "A workspace setting has a value out of its range.");
export const WorkspaceDeletionDisabled = defineError("WORKSPACE_DELETION_DISABLED", "Deleting workspaces through the API is turned off (POSTHORN_API_SERVER_DELETION).");
export const SmtpDisabled = defineError("SMTP_DISABLED", "SMTP submission is turned off for this workspace (SmtpApiActivated is false).");
