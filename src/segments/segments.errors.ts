// Errors of segments. The Customer.io edges map them (src/api/customerio/customerio.errors.ts):
// codes that say the input was refused (_INVALID, _LIMIT) answer 400, NOT_FOUND 404.
import { defineError } from "../shared/errors.js";

export const SegmentDefinitionInvalid = defineError("SEGMENT_DEFINITION_INVALID", "A segment's conditions are not a valid definition; the message and `field` name the path of the bad field.");
export const SegmentInputInvalid = defineError("SEGMENT_INPUT_INVALID", "A segment's name or description is missing or too long, or a page size or cursor is invalid.");
export const SegmentNotFound = defineError("SEGMENT_NOT_FOUND", "No segment of this workspace has this id.");
export const SegmentNotManual = defineError("SEGMENT_NOT_MANUAL_INVALID", "People are added to or removed from manual segments only; data-driven segments keep their own members.");
export const SegmentFromFile = defineError("SEGMENT_FROM_FILE_INVALID", "The segment was loaded from the segments folder; change its file instead.");
export const SegmentPeopleLimit = defineError("SEGMENT_PEOPLE_LIMIT", "Too many people in one call (at most 1,000).");
