// Validation of the host names a sending domain is made of: its own name and its return-path
// domain. Names are stored in their lower-case A-label form (RFC 5890), the form DNS and the
// d= tag of a DKIM signature use, so "Bücher.example" and "xn--bcher-kva.example" are one domain.
import { domainToASCII } from "node:url";
import { DomainInvalid } from "./sending-domains.errors.js";

/** RFC 1035 §2.3.4: 253 characters in presentation form, 63 per label. */
const MAX_NAME_LENGTH = 253;
/** Letters, digits and inner hyphens (RFC 1123 §2.1); no underscores, since these are host names. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The canonical form of a host name, or null when it is not one. */
export function canonicalHostName(input: string): string | null {
  let name = input.trim().toLowerCase().replace(/\.$/, "");
  if (/[^\x20-\x7e]/.test(name)) name = domainToASCII(name);
  if (name === "" || name.length > MAX_NAME_LENGTH) return null;
  const labels = name.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  // A top-level label of digits only is an IPv4 address, not a domain (RFC 3696 §2).
  if (/^\d+$/.test(labels[labels.length - 1]!)) return null;
  return name;
}

/** The sending domain's name from API input; throws DOMAIN_INVALID with a message naming the field. */
export function parseDomainName(input: unknown): string {
  if (typeof input !== "string" || input.trim() === "") throw DomainInvalid("'Name' is required: the domain to send from, e.g. example.com.");
  const name = canonicalHostName(input);
  if (!name) throw DomainInvalid(`'Name' is not a valid domain name: '${input}'.`);
  return name;
}

/**
 * The return-path domain from API input: a subdomain of the sending domain, so that the SPF
 * result for MAIL FROM aligns with the From domain under DMARC's relaxed alignment (RFC 7489
 * §3.1.2). It cannot be the domain itself, because it is published as a CNAME, and a name with a
 * CNAME can have no other records (RFC 1034 §3.6.2). Empty or null means the default.
 */
export function parseReturnPathDomain(input: unknown, domain: string): string {
  if (input === undefined || input === null || (typeof input === "string" && input.trim() === "")) return defaultReturnPathDomain(domain);
  if (typeof input !== "string") throw DomainInvalid("'ReturnPathDomain' must be a string.");
  const name = canonicalHostName(input);
  if (!name) throw DomainInvalid(`'ReturnPathDomain' is not a valid domain name: '${input}'.`);
  if (!name.endsWith(`.${domain}`)) {
    throw DomainInvalid(`'ReturnPathDomain' must be a subdomain of ${domain} (e.g. ${defaultReturnPathDomain(domain)}); got '${input}'.`);
  }
  return name;
}

/** Postmark's default bounce domain. */
export function defaultReturnPathDomain(domain: string): string {
  return `pm-bounces.${domain}`;
}
