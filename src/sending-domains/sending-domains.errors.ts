import { defineError } from "../shared/errors.js";

export const DomainNotFound = defineError("DOMAIN_NOT_FOUND", "No sending domain has that ID.");
export const DomainInvalid = defineError("DOMAIN_INVALID", "A sending-domain field is invalid (name, return-path domain, paging).");
export const DomainExists = defineError("DOMAIN_EXISTS", "A sending domain with that name already exists.");
export const DkimRotationPending = defineError("DKIM_ROTATION_PENDING", "The domain already has a DKIM key waiting to be verified.");
