// Sending one raw message over SMTP exactly as given (null sender allowed), for tests that play a
// remote MTA delivering bounces, complaints or inbound mail to Posthorn's MX listener.
import { openSmtpDialog } from "../../src/smtp/testing/smtp-dialog.js";

export interface RawSmtpResult {
  /** The reply to each RCPT, in order. */
  rcpt: string[];
  /** The reply after DATA, or null when no recipient was accepted. */
  data: string | null;
}

export async function sendRawSmtp(port: number, envelope: { from: string; to: string[] }, raw: Buffer | string): Promise<RawSmtpResult> {
  const dialog = await openSmtpDialog(port);
  try {
    await dialog.command("EHLO mx.remote.example");
    const mail = await dialog.command(`MAIL FROM:<${envelope.from}>`);
    if (!mail.startsWith("250")) throw new Error(`MAIL refused: ${mail}`);
    const rcpt: string[] = [];
    for (const to of envelope.to) rcpt.push(await dialog.command(`RCPT TO:<${to}>`));
    if (!rcpt.some((r) => r.startsWith("250"))) return { rcpt, data: null };
    const go = await dialog.command("DATA");
    if (!go.startsWith("354")) throw new Error(`DATA refused: ${go}`);
    const text = (Buffer.isBuffer(raw) ? raw.toString("latin1") : raw).replace(/\r?\n/g, "\r\n");
    // Dot-stuffing (RFC 5321 §4.5.2) and the end-of-data line.
    const body = text.replace(/^\./gm, "..") + (text.endsWith("\r\n") ? "" : "\r\n") + ".\r\n";
    const data = await dialog.data(Buffer.from(body, "latin1"));
    await dialog.command("QUIT").catch(() => undefined);
    return { rcpt, data };
  } finally {
    dialog.close();
  }
}
