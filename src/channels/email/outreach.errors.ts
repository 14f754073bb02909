// Errors of outreach mail and transactional messages. The Customer.io edges map them
// (src/api/customerio/customerio.errors.ts): _INVALID and _LIMIT answer 400, _NOT_FOUND 404,
// _RATE_LIMITED 429.
import { defineError } from "../../shared/errors.js";

export const OutreachContentInvalid = defineError("OUTREACH_CONTENT_INVALID", "The rendered mail is not a message that can be sent (an address, header or body that acceptance would refuse); the message names the field.");
export const OutreachLimitsInvalid = defineError("OUTREACH_LIMITS_INVALID", "Message limits that cannot be kept: a cap's count or period out of range, or quiet hours with a bad time or time zone; `field` names it.");
export const TransactionalInvalid = defineError("TRANSACTIONAL_INVALID", "A transactional send or message definition is not valid; `field` names the bad field.");
export const TransactionalNotFound = defineError("TRANSACTIONAL_NOT_FOUND", "No transactional message of this workspace has this id or trigger name.");
export const TransactionalConflict = defineError("TRANSACTIONAL_TRIGGER_CONFLICT", "Another transactional message of this workspace already has this trigger name.");
export const TransactionalRateLimited = defineError("TRANSACTIONAL_RATE_LIMITED", "More than 100 transactional sends per second for this workspace (Customer.io's limit); try again shortly.");
export const TransactionalRecipientInactive = defineError("TRANSACTIONAL_RECIPIENT_INACTIVE", "The transactional message was not sent: the person is unsubscribed and send_to_unsubscribed is false, or every recipient is inactive (suppressed) on the stream.");
