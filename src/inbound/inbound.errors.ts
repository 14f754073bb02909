import { defineError } from "../shared/errors.js";

export const InboundMessageNotFound = defineError("INBOUND_MESSAGE_NOT_FOUND", "No inbound message with that id in this workspace.");
export const InboundNotRetryable = defineError("INBOUND_NOT_RETRYABLE", "Only an inbound message whose webhook failed can be retried.");
export const InboundNotBlocked = defineError("INBOUND_NOT_BLOCKED", "Only a blocked inbound message can be bypassed.");
export const InboundContentRemoved = defineError("INBOUND_CONTENT_REMOVED", "The inbound message's content is no longer kept, so it cannot be posted again.");
export const InboundRuleInvalid = defineError("INBOUND_RULE_INVALID", "An inbound rule is an email address or a domain name.");
export const InboundRuleExists = defineError("INBOUND_RULE_EXISTS", "That inbound rule already exists.");
export const InboundRuleNotFound = defineError("INBOUND_RULE_NOT_FOUND", "No inbound rule with that id in this workspace.");
export const InboundHookUrlInvalid = defineError("INBOUND_HOOK_URL_INVALID", "The inbound webhook URL must be an http or https URL.");
export const InboundDomainInvalid = defineError("INBOUND_DOMAIN_INVALID", "The inbound domain must be a domain name.");
