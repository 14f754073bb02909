// What an SMTP session reports besides replies: the failure of the connection itself, and the
// parsing of replies. Kept apart from smtp.session.ts so that file holds only the protocol flow.
import type { NodemailerError } from "nodemailer/lib/errors.js";
import type { SmtpReply } from "../mta.types.js";

export type SmtpSessionPhase = "connect" | "setup" | "transaction" | "reset";

/** The connection failed; nothing here is a verdict on any recipient. */
export class SmtpSessionError extends Error {
  constructor(
    message: string,
    readonly phase: SmtpSessionPhase,
    /** nodemailer's code (ECONNECTION, ETIMEDOUT, ETLS, EPROTOCOL, ...) or the socket's. */
    readonly code: string,
    /** The reply that ended the session (a 421, a non-220 greeting), when there was one. */
    readonly reply: SmtpReply | null,
    /** Whether message bytes were handed to the socket: if so the server may have the message. */
    readonly bodySent: boolean,
  ) {
    super(message);
    this.name = "SmtpSessionError";
  }
}

/** Parses "550-5.1.1 first line\n550 5.1.1 last line" into code, enhanced status and text. */
export function parseSmtpReply(raw: string): SmtpReply {
  const text = raw.replace(/\r\n/g, "\n").trim();
  const code = /^([1-5]\d{2})(?=[ -]|$)/.exec(text);
  // RFC 3463 §2: class.subject.detail, class 2/4/5, one to three digits each; RFC 2034 puts it
  // right after the reply code.
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(text);
  return { code: code ? Number(code[1]) : 0, enhanced: enhanced?.[1] ?? null, text };
}

export function replyOf(err: NodemailerError): SmtpReply | null {
  return typeof err.response === "string" && err.response !== "" ? parseSmtpReply(err.response) : null;
}

export function toSessionError(err: unknown, phase: SmtpSessionPhase, bodySent: boolean): SmtpSessionError {
  const e = err as NodemailerError;
  const code = String(e.code ?? "ECONNECTION");
  // The socket's own code (ECONNRESET, EPIPE) stays in the message; code is nodemailer's class.
  const message = `${e.message ?? String(err)}${e.originalCode ? ` (${e.originalCode})` : ""}`;
  return new SmtpSessionError(message, phase, code, replyOf(e), bodySent);
}

/** True when the server refused this message or its recipients and the connection itself is fine. */
export function isMessageRefusal(err: NodemailerError): boolean {
  // RFC 5321 §3.8/§4.2: a 421 is the server closing the channel, whatever command it answers.
  if (err.responseCode === 421) return false;
  return (err.code === "EENVELOPE" || err.code === "EMESSAGE") && typeof err.response === "string";
}

/** What fits in MAIL FROM:<...> / RCPT TO:<...>: no brackets or line breaks; "" only as sender. */
export function isSendableAddress(address: string, isSender: boolean): boolean {
  if (/[\r\n<>]/.test(address)) return false;
  return isSender || address.trim() !== "";
}

/** 8-bit bytes in the body call for BODY=8BITMIME (RFC 6152) when the server offers it. */
export function hasEightBitBytes(raw: Buffer): boolean {
  for (const byte of raw) if (byte > 0x7f) return true;
  return false;
}
