import type { DsnRequest } from "./dsn-request.js";
// A message submitted as raw RFC 5322 (SMTP submission), as the SMTP edge hands it to the
// messages domain (RawAcceptService.acceptRaw).

export interface RawSubmission {
  /** MAIL FROM; a null reverse-path is not accepted for submission. */
  envelopeFrom: string;
  /** RCPT TO addresses, in order, as given. */
  recipients: string[];
  /** The message as received after DATA (CRLF line ends, dot-unstuffed). */
  raw: Buffer;
  /** RFC 3461: the sender asked for failure notices (NOTIFY=FAILURE on any recipient). */
  notifyFailure: boolean;
  /** RFC 3461 parameters as given (NOTIFY and ORCPT per recipient, ENVID, RET). */
  dsn?: DsnRequest | null;
  /** The stream an SMTP token pair is bound to; X-PM-Message-Stream may only repeat it. */
  stream?: string | null;
}
