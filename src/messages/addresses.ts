// Address lists as Postmark accepts them in From/To/Cc/Bcc/ReplyTo: RFC 5322 §3.4 mailboxes
// separated by commas, with a display name (plain or quoted) or without one.
//
// This runs for every recipient of every accepted message, so it is one linear scan over char
// codes with lookup tables: no backtracking regex can be made to blow up on hostile input.
//
// Deliberately not accepted: groups ("Team: a@b.com;"), domain literals (a@[192.0.2.1]),
// dotless domains (a@localhost) and non-ASCII local parts (those need SMTPUTF8, RFC 6531, at
// every hop). Unicode domains are accepted and stored as their A-label (RFC 5890), which is what
// RCPT TO and DNS need.
import { domainToASCII } from "node:url";
import type { Address } from "./message.types.js";
import { MESSAGE_INVALID } from "./messages.errors.js";

/** RFC 5321 §4.5.3.1.1: local part at most 64 octets. */
export const MAX_LOCAL_PART_OCTETS = 64;
/** RFC 5321 §4.5.3.1.3 path limit (256) minus the angle brackets. */
export const MAX_ADDRESS_OCTETS = 254;
/** RFC 1035 §2.3.4. */
const MAX_DOMAIN_OCTETS = 253;
const MAX_LABEL_OCTETS = 63;

const CH_QUOTE = 34, CH_LPAREN = 40, CH_RPAREN = 41, CH_COMMA = 44, CH_DOT = 46;
const CH_LT = 60, CH_GT = 62, CH_BACKSLASH = 92, CH_HYPHEN = 45;

// RFC 5322 §3.2.3 atext.
const ATEXT = new Uint8Array(128);
for (const c of "!#$%&'*+-/=?^_`{|}~") ATEXT[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) ATEXT[c] = 1;
for (let c = 65; c <= 90; c++) { ATEXT[c] = 1; ATEXT[c + 32] = 1; }

// LDH label characters (RFC 1123 §2.1).
const LDH = new Uint8Array(128);
for (let c = 48; c <= 57; c++) LDH[c] = 1;
for (let c = 65; c <= 90; c++) { LDH[c] = 1; LDH[c + 32] = 1; }
LDH[CH_HYPHEN] = 1;

/** Longer offending values are cut in error messages, which are logged and returned. */
const MAX_QUOTED_CHARS = 320;

function invalid(field: string, value: string): Error {
  let v = value.trim();
  if (v.length > MAX_QUOTED_CHARS) v = v.slice(0, MAX_QUOTED_CHARS) + "…";
  return MESSAGE_INVALID(`Invalid '${field}' address: '${v}'.`, { field });
}

/** Parses a comma-separated address list. Empty input and empty items yield no address. */
export function parseAddressList(input: string, field: string): Address[] {
  const out: Address[] = [];
  const len = input.length;
  let start = 0;
  let plain = true; // no quote, comment or angle bracket in the current item: the common case
  for (let i = 0; i <= len; i++) {
    const c = i < len ? input.charCodeAt(i) : CH_COMMA;
    if (c === CH_QUOTE) {
      i = skipQuoted(input, i);
      plain = false;
    } else if (c === CH_LPAREN) {
      i = skipComment(input, i);
      plain = false;
    } else if (c === CH_LT) {
      i = input.indexOf(">", i);
      plain = false;
    } else if (c === CH_COMMA) {
      const item = plain ? parseBare(input, start, i, field) : parseMailbox(input, start, i, field);
      if (item) out.push(item);
      start = i + 1;
      plain = true;
    }
    if (i < 0) throw invalid(field, input.slice(start));
  }
  return out;
}

function parseBare(s: string, start: number, end: number, field: string): Address | null {
  const spec = s.slice(start, end).trim();
  if (spec === "") return null;
  const email = checkAddrSpec(spec);
  if (email === null) throw invalid(field, spec);
  return { email, name: "" };
}

/** Parses exactly one mailbox, as the From field needs. */
export function parseAddress(input: string, field: string): Address {
  const list = parseAddressList(input, field);
  if (list.length !== 1) throw invalid(field, input);
  return list[0]!;
}

/** Index of the closing quote of the quoted-string opening at `i`, or -1. */
function skipQuoted(s: string, i: number): number {
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_BACKSLASH) i++;
    else if (c === CH_QUOTE) return i;
  }
  return -1;
}

/** Index of the parenthesis closing the comment opening at `i` (comments nest), or -1. */
function skipComment(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_BACKSLASH) i++;
    else if (c === CH_LPAREN) depth++;
    else if (c === CH_RPAREN && --depth === 0) return i;
  }
  return -1;
}

/**
 * One mailbox from s[start, end): `name <addr>` or a bare addr-spec, with optional comments.
 * Returns null for an item that is only whitespace. Display names are taken leniently (any text
 * before "<", quotes removed), as mail clients do; the addr-spec is checked strictly.
 */
function parseMailbox(s: string, start: number, end: number, field: string): Address | null {
  let name = "";
  let bare = ""; // the item without comments, quotes kept: the addr-spec when there is no "<"
  let comment: string | null = null;
  let addr: string | null = null;
  let run = start; // start of the plain text not yet copied into name and bare
  const item = () => s.slice(start, end);
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== CH_QUOTE && c !== CH_LPAREN && c !== CH_LT && c !== CH_GT) continue;
    if (addr !== null) {
      if (c !== CH_LPAREN || s.slice(run, i).trim() !== "") throw invalid(field, item());
    } else if (i > run) {
      name += s.slice(run, i);
      bare += s.slice(run, i);
    }
    if (c === CH_QUOTE) {
      if (addr !== null) throw invalid(field, item());
      const close = skipQuoted(s, i);
      name += unescapeQuoted(s.slice(i + 1, close));
      bare += s.slice(i, close + 1);
      i = close;
    } else if (c === CH_LPAREN) {
      const close = skipComment(s, i);
      comment ??= unescapeQuoted(s.slice(i + 1, close));
      bare += " ";
      i = close;
    } else if (c === CH_LT) {
      if (addr !== null) throw invalid(field, item());
      const close = s.indexOf(">", i);
      addr = s.slice(i + 1, close).trim();
      i = close;
    } else {
      throw invalid(field, item());
    }
    run = i + 1;
  }
  if (addr === null) {
    bare += s.slice(run, end);
    const spec = bare.trim();
    if (spec === "") return null;
    const email = checkAddrSpec(spec);
    if (email === null) throw invalid(field, item());
    return { email, name: collapse(comment ?? "") };
  }
  if (s.slice(run, end).trim() !== "") throw invalid(field, item());
  const email = checkAddrSpec(addr);
  if (email === null) throw invalid(field, item());
  return { email, name: collapse(name) };
}

function unescapeQuoted(s: string): string {
  return s.indexOf("\\") < 0 ? s : s.replace(/\\(.)/gs, "$1");
}

/** Trims and folds runs of whitespace into one space. */
function collapse(s: string): string {
  const t = s.trim();
  return /\s\s|[\t\r\n]/.test(t) ? t.replace(/\s+/g, " ") : t;
}

/**
 * Checks an addr-spec (RFC 5322 §3.4.1, without obsolete forms or domain literals) and returns
 * it normalized (see normalizeEmail in src/shared/email-address.ts), or null when it is not a deliverable address.
 */
export function checkAddrSpec(spec: string): string | null {
  const at = spec.lastIndexOf("@");
  if (at <= 0 || at === spec.length - 1) return null;
  if (!isLocalPart(spec, at)) return null;
  const domain = asciiDomain(spec.slice(at + 1));
  if (domain === null) return null;
  if (at + 1 + domain.length > MAX_ADDRESS_OCTETS) return null;
  return spec.slice(0, at) + "@" + domain;
}

/** spec[0, end) is a dot-atom or a quoted-string of ASCII, at most 64 octets. */
function isLocalPart(spec: string, end: number): boolean {
  if (end > MAX_LOCAL_PART_OCTETS) return false;
  if (spec.charCodeAt(0) === CH_QUOTE) {
    if (end < 2 || spec.charCodeAt(end - 1) !== CH_QUOTE) return false;
    for (let i = 1; i < end - 1; i++) {
      const c = spec.charCodeAt(i);
      if (c === CH_BACKSLASH) {
        const n = spec.charCodeAt(++i);
        if (i >= end - 1 || n > 126 || (n < 32 && n !== 9)) return false;
      } else if (c === CH_QUOTE || c > 126 || (c < 32 && c !== 9)) {
        return false;
      }
    }
    return true;
  }
  let prevDot = true; // a leading dot is as wrong as a double one
  for (let i = 0; i < end; i++) {
    const c = spec.charCodeAt(i);
    if (c === CH_DOT) {
      if (prevDot) return false;
      prevDot = true;
    } else if (c < 128 && ATEXT[c] === 1) {
      prevDot = false;
    } else {
      return false;
    }
  }
  return !prevDot;
}

/** The lower-case A-label form of a host name with at least two labels, or null. */
function asciiDomain(domain: string): string | null {
  let ascii = domain;
  for (let i = 0; i < domain.length; i++) {
    if (domain.charCodeAt(i) > 127) {
      // UTS #46 mapping; "" when the name cannot be converted.
      ascii = domainToASCII(domain);
      break;
    }
  }
  if (ascii.length === 0 || ascii.length > MAX_DOMAIN_OCTETS) return null;
  let labelStart = 0;
  let labels = 0;
  let allDigits = true;
  for (let i = 0; i <= ascii.length; i++) {
    const c = i < ascii.length ? ascii.charCodeAt(i) : CH_DOT;
    if (c === CH_DOT) {
      const labelLen = i - labelStart;
      if (labelLen === 0 || labelLen > MAX_LABEL_OCTETS) return null;
      if (ascii.charCodeAt(labelStart) === CH_HYPHEN || ascii.charCodeAt(i - 1) === CH_HYPHEN) return null;
      labels++;
      if (i < ascii.length) allDigits = true;
      labelStart = i + 1;
    } else if (c < 128 && LDH[c] === 1) {
      if (c < 48 || c > 57) allDigits = false;
    } else {
      return null;
    }
  }
  // A numeric top-level label would make "1.2.3.4" look like a host name (RFC 3696 §2).
  if (labels < 2 || allDigits) return null;
  return ascii.toLowerCase();
}

/** True when the string is one valid addr-spec (no display name). */
export function isValidEmail(email: string): boolean {
  return checkAddrSpec(email.trim()) !== null;
}

/**
 * A mailbox as header text: "Name <a@b>" with the name quoted when RFC 5322 specials require it,
 * the bare address without a name, and the name alone for a From field that named no mailbox.
 */
export function formatMailbox(a: Address): string {
  if (!a.email) return a.name;
  if (!a.name) return a.email;
  const needsQuotes = /[(),.:;<>@[\\\]"]/.test(a.name);
  return needsQuotes ? `"${a.name.replace(/(["\\])/g, "\\$1")}" <${a.email}>` : `${a.name} <${a.email}>`;
}
