// Coded errors of the people domain. Each names the field it is about in details.field. The
// Customer.io edges map them in src/api/customerio/customerio.errors.ts (…_INVALID, …_TOO_LARGE
// and …_LIMIT answer 400 there by their names); other doors map them in their own tables.
import { defineError } from "../shared/errors.js";

export const PEOPLE_IDENTIFIER_INVALID = defineError("PEOPLE_IDENTIFIER_INVALID", "An identifier is empty or not of its kind (an email without @, a cio_id we never gave).");
export const PEOPLE_IDENTIFIER_TOO_LARGE = defineError("PEOPLE_IDENTIFIER_TOO_LARGE", "An identifier (id, email, phone, anonymous id, device or object id) is longer than 150 bytes.");
export const PEOPLE_IDENTIFIER_CONFLICT = defineError("PEOPLE_IDENTIFIER_CONFLICT", "The identifier already belongs to another person of the workspace.");
export const PEOPLE_ATTRIBUTE_NAME_TOO_LARGE = defineError("PEOPLE_ATTRIBUTE_NAME_TOO_LARGE", "An attribute name is longer than 150 bytes.");
export const PEOPLE_ATTRIBUTE_NAME_INVALID = defineError("PEOPLE_ATTRIBUTE_NAME_INVALID", "An attribute name is empty.");
export const PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE = defineError("PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE", "An attribute value is longer than 1,000 bytes as JSON.");
export const PEOPLE_ATTRIBUTES_LIMIT = defineError("PEOPLE_ATTRIBUTES_LIMIT", "The person would have more than 300 attributes.");
export const PEOPLE_EVENT_NAME_INVALID = defineError("PEOPLE_EVENT_NAME_INVALID", "An event has no name.");
export const PEOPLE_EVENT_NAME_TOO_LARGE = defineError("PEOPLE_EVENT_NAME_TOO_LARGE", "An event name is longer than 100 bytes.");
export const PEOPLE_EVENT_DATA_TOO_LARGE = defineError("PEOPLE_EVENT_DATA_TOO_LARGE", "An event's data is larger than 100,000 bytes as JSON.");
export const PEOPLE_FIELD_INVALID = defineError("PEOPLE_FIELD_INVALID", "A field of an operation is missing or of the wrong type (a device without platform, an event of an unknown type).");
export const PEOPLE_NOT_FOUND = defineError("PEOPLE_NOT_FOUND", "No person of the workspace has this identifier.");
