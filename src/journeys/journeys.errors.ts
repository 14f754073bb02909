// Errors of journeys. The Customer.io edges map them (src/api/customerio/customerio.errors.ts):
// _INVALID and _LIMIT answer 400, _NOT_FOUND 404, _CONFLICT 409.
import { defineError } from "../shared/errors.js";

export const JourneyDefinitionInvalid = defineError("JOURNEY_DEFINITION_INVALID", "A journey document is not valid; the message and `field` name the path of the bad field (steps[2].wait_until.timeout).");
export const JourneyNotFound = defineError("JOURNEY_NOT_FOUND", "No journey of this workspace has this id.");
export const JourneyStateConflict = defineError("JOURNEY_STATE_CONFLICT", "The journey is not in a state that allows this (a broadcast trigger for a journey that is not live or not broadcast-triggered, a file-defined journey changed through the API).");
