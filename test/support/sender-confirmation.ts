// Sender-signature confirmation as a person does it: the mail that reached the SMTP sink, its
// link opened (GET shows a button), then the button pressed (POST).
import { simpleParser } from "mailparser";
import type { SmtpSink } from "./smtp-sink.js";

/** The confirmation link in the latest mail to `email` the sink received (waits for it). */
export async function confirmationLinkFor(sink: SmtpSink, email: string, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const mail = [...sink.messages].reverse().find((m) => m.rcptTo.some((r) => r.toLowerCase() === email.toLowerCase()));
    if (mail) {
      const parsed = await simpleParser(mail.raw);
      const link = /https?:\/\/\S+\/confirm\/sender\/\d+\/[0-9a-f]+/.exec(parsed.text ?? "")?.[0];
      if (!link) throw new Error(`the mail to ${email} has no confirmation link:\n${parsed.text}`);
      return link;
    }
    if (Date.now() > until) throw new Error(`no confirmation mail reached the sink for ${email}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The link's path on the test server (the link's base is POSTHORN_SENDER_CONFIRMATION_URL, as a proxy would strip it). */
export function onServer(serverUrl: string, link: string): string {
  return serverUrl + pathOf(link);
}

/** The link's path from /confirm/sender/ on. */
export function pathOf(link: string): string {
  const path = new URL(link).pathname;
  return path.slice(path.indexOf("/confirm/sender/"));
}

/** Opens the page and presses its button; returns both answers. */
export async function confirmByLink(serverUrl: string, link: string): Promise<{ page: Response; pageText: string; confirmed: Response; confirmedText: string }> {
  const url = onServer(serverUrl, link);
  const page = await fetch(url);
  const pageText = await page.text();
  const confirmed = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
  return { page, pageText, confirmed, confirmedText: await confirmed.text() };
}
