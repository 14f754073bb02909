import { defineError } from "../shared/errors.js";

export const WebhookNotFound = defineError("WEBHOOK_NOT_FOUND", "No webhook with that id in this workspace.");
export const WebhookInvalid = defineError("WEBHOOK_INVALID", "The webhook's settings are not valid (headers, credentials or triggers).");
export const WebhookUrlInvalid = defineError("WEBHOOK_URL_INVALID", "The webhook URL must be an http or https URL to a public address.");
export const WebhookLimitReached = defineError("WEBHOOK_LIMIT_REACHED", "The stream already has as many webhooks as a stream may have.");
