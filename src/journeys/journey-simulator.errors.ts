// Errors of `posthorn journeys test`'s inputs besides the journey itself (JOURNEY_DEFINITION_INVALID).
import { defineError } from "../shared/errors.js";

export const JourneySimulationInvalid = defineError("JOURNEY_SIMULATION_INVALID", "The events file (or webhook responses file) of a journey simulation is not valid; the message and `field` name the bad entry (events[3].at).");
