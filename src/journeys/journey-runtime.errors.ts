// Errors of the journey runtime and service, besides the base ones (journeys.errors.ts).
import { defineError } from "../shared/errors.js";

export const JourneyInputInvalid = defineError("JOURNEY_INPUT_INVALID", "A request about journeys or runs has a bad value (a state, a page size, a cursor); `field` names it.");
export const JourneyEntriesLimit = defineError("JOURNEY_ENTRIES_LIMIT", "Too many people entered into a journey in one call (at most 1,000).");
