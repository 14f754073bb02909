// The confirmation mail of a sender signature, in Posthorn's words (the app wiring turns it into
// a submission for acceptance: src/app/system-mail.ts). Text and HTML; the personal note is the
// account's own words and is escaped, never interpreted.
export interface ConfirmationMail {
  to: { email: string; name: string };
  subject: string;
  text: string;
  html: string;
}

export function confirmationMail(input: { email: string; name: string; note: string; link: string }): ConfirmationMail {
  const note = input.note.trim();
  const text = [
    `Someone asked to send email as ${input.email} through this Posthorn installation.`,
    "",
    ...(note ? ["Their note:", note, ""] : []),
    "To allow it, open this link and press the Confirm button:",
    input.link,
    "",
    "If you did not expect this, ignore this email: nothing is sent as you unless you confirm.",
  ].join("\n");
  const html =
    `<p>Someone asked to send email as <strong>${escapeHtml(input.email)}</strong> through this Posthorn installation.</p>` +
    (note ? `<p>Their note:</p><blockquote>${escapeHtml(note).replace(/\n/g, "<br>")}</blockquote>` : "") +
    `<p><a href="${escapeHtml(input.link)}">Confirm this sender address</a> (the page asks you to press a button).</p>` +
    "<p>If you did not expect this, ignore this email: nothing is sent as you unless you confirm.</p>";
  return { to: { email: input.email, name: input.name }, subject: `Confirm your sender address ${input.email}`, text, html };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
