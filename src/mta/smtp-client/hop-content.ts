// What goes to one next hop, decided after its EHLO: the message as accepted, or its 7-bit form
// (seven-bit.ts), with or without BODY=8BITMIME and SMTPUTF8; and which recipients cannot be sent
// to this hop at all. A hop that lacks SMTPUTF8 cannot take a UTF-8 address (RFC 6531 §3.4):
// such a recipient, or the whole message for a UTF-8 sender or header address, fails with 5.6.7
// as Postfix reports it ("SMTPUTF8 is required, but was not offered by host"), rather than going
// out in a form the hop may mangle. A body that cannot be converted fails with 5.6.3 (RFC 3463,
// "conversion required but not supported").
import type { DeliveryJob, SmtpReply } from "../mta.types.js";
import { parseSmtpReply } from "./smtp.errors.js";
import type { SendOptions, SmtpExtensions } from "./smtp.session.js";

export type HopContent =
  | { kind: "send"; raw: Uint8Array; options: SendOptions; refused: Map<string, SmtpReply> }
  | { kind: "refused"; reply: SmtpReply };

/** Every UTF-8 character past ASCII takes more octets than UTF-16 code units. */
const ascii = (s: string) => Buffer.byteLength(s, "utf8") === s.length;

export function contentForHop(job: DeliveryJob, hop: SmtpExtensions, host: string): HopContent {
  const needs = job.needs;
  const utf8Envelope = !ascii(job.envelopeFrom) || job.recipients.some((r) => !ascii(r));
  if (hop.smtpUtf8) {
    return { kind: "send", raw: job.raw, options: { eightBit: needs?.eightBit ?? false, smtpUtf8: utf8Envelope || (needs?.utf8Headers ?? false), dsn: job.dsn }, refused: new Map() };
  }
  if (!ascii(job.envelopeFrom)) {
    return { kind: "refused", reply: parseSmtpReply(`550 5.6.7 ${host} does not offer SMTPUTF8, which the sender address ${job.envelopeFrom} needs (RFC 6531 §3.4; not sent)`) };
  }
  const refused = new Map<string, SmtpReply>();
  for (const r of job.recipients) {
    if (!ascii(r)) refused.set(r, parseSmtpReply(`553 5.6.7 ${host} does not offer SMTPUTF8, which the address ${r} needs (RFC 6531 §3.4; not sent)`));
  }
  if (!needs || (!needs.utf8Headers && hop.eightBitMime)) {
    return { kind: "send", raw: job.raw, options: { eightBit: needs?.eightBit ?? false, dsn: job.dsn }, refused };
  }
  const sevenBit = job.sevenBit;
  if (!sevenBit) return { kind: "refused", reply: parseSmtpReply(`451 4.3.0 no 7-bit form of the message was prepared for ${host} (not sent)`) };
  if (!(sevenBit instanceof Uint8Array)) {
    const [status, lacks] = needs.utf8Headers ? ["5.6.7", "SMTPUTF8"] : ["5.6.3", "8BITMIME"];
    return { kind: "refused", reply: parseSmtpReply(`550 ${status} ${host} does not offer ${lacks}, and the message cannot be converted: ${sevenBit.impossible} (not sent)`) };
  }
  return { kind: "send", raw: sevenBit, options: { eightBit: false, dsn: job.dsn }, refused };
}
