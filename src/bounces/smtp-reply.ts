// A remote SMTP server's reply, as the MTA meets it during a session and as a delivery report
// quotes it: what the reply rules classify.

/** One reply from a remote SMTP server. */
export interface SmtpReply {
  /** Three-digit reply code (RFC 5321 §4.2). */
  code: number;
  /** Enhanced status code (RFC 3463), e.g. "5.1.1", when the server sent one. */
  enhanced: string | null;
  /** The whole reply text as received, multi-line replies joined by "\n". */
  text: string;
}
