// What a submitted message must not contain to be relayed and signed unchanged: a line longer than
// 998 octets (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1) or a NUL byte (RFC 5322 §2.3 allows neither
// in a message body; RFC 5321 §4.5.2 carries text lines). A next hop folds or rewrites such mail
// (Postfix folds long lines), and the DKIM signature made over our stored bytes then fails at the
// receiver with "body hash mismatch". Re-encoding the part (quoted-printable or base64) before
// signing would fix it silently but rewrites the client's MIME; refusing at the end of DATA is
// simpler and tells the client exactly what to change. Only submission checks: the MX stores what
// it receives and never relays or signs it.

/** RFC 5321 §4.5.3.1.6: 1000 octets per line including the CRLF. */
export const MAX_LINE_OCTETS = 998;

export type LineDefect = { kind: "line-too-long"; line: number; octets: number } | { kind: "nul"; line: number };

/** The first line longer than MAX_LINE_OCTETS (without its CRLF) or holding a NUL, or null. */
export function findLineDefect(raw: Buffer): LineDefect | null {
  // Buffer.indexOf is native: the common message (no NUL, short lines) costs two passes at memchr speed.
  const nul = raw.indexOf(0);
  let start = 0;
  let line = 1;
  while (start < raw.length) {
    const lf = raw.indexOf(0x0a, start);
    const end = lf < 0 ? raw.length : lf;
    if (nul >= start && nul < end) return { kind: "nul", line };
    const octets = end - start - (end > start && raw[end - 1] === 0x0d ? 1 : 0);
    if (octets > MAX_LINE_OCTETS) return { kind: "line-too-long", line, octets };
    start = end + 1;
    line += 1;
  }
  return null;
}
