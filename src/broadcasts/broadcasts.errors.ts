// Errors of broadcasts (newsletters) and API-triggered broadcasts. The Customer.io edges map them
// (src/api/customerio/customerio.errors.ts): _INVALID and _LIMIT answer 400, _NOT_FOUND 404,
// _CONFLICT 409, _TOO_BUSY 429.
import { defineError } from "../shared/errors.js";

export const BroadcastInvalid = defineError("BROADCAST_INVALID", "A broadcast's definition is not valid (name, audience, content, schedule, throttle); the message and `field` name the bad field.");
export const BroadcastNotFound = defineError("BROADCAST_NOT_FOUND", "No broadcast of this workspace has this id.");
export const BroadcastStateConflict = defineError("BROADCAST_STATE_CONFLICT", "The broadcast is not in a state that allows this (cancelling one that is done, failed or already cancelled).");
export const BroadcastTriggerInvalid = defineError("BROADCAST_TRIGGER_INVALID", "A broadcast trigger's body is not valid (recipient shape, identifiers, per-user data, filter, or an unsupported data_file_url); the message and `field` name the bad field.");
export const BroadcastTriggerLimit = defineError("BROADCAST_TRIGGER_LIMIT", "A broadcast trigger is over a size limit (10,000 ids, emails or per_user_data entries; 50,000 bytes of data).");
export const BroadcastTriggerTooBusy = defineError("BROADCAST_TRIGGER_TOO_BUSY", "The campaign was triggered less than 10 seconds ago, or already has 5 triggers waiting to be processed.");
export const BroadcastTriggerNotFound = defineError("BROADCAST_TRIGGER_NOT_FOUND", "No trigger of this campaign (in this workspace) has this id.");
