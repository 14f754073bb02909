import { defineError } from "../../shared/errors.js";

export const QueueDomainRequired = defineError("QUEUE_DOMAIN_REQUIRED", "Purging needs the recipient domain whose waiting mail should be ended.");
