// Coded errors of the messages domain. The Postmark edge maps MESSAGE_INVALID to ErrorCode 300
// ("Invalid email request") and MESSAGE_FORBIDDEN_ATTACHMENT to 411; the SMTP edge to 550/554.
import { defineError } from "../shared/errors.js";

export const MESSAGE_INVALID = defineError(
  "MESSAGE_INVALID",
  "The message has a missing or invalid field (address, body, header, attachment, limit).",
);

export const MESSAGE_FORBIDDEN_ATTACHMENT = defineError(
  "MESSAGE_FORBIDDEN_ATTACHMENT",
  "An attachment has a file type that may not be sent (an executable or script).",
);

/**
 * File extensions Postmark refuses as attachments (lower case, without the dot). Postmark's
 * documented list, plus cmd, js and jar, which every major mailbox provider blocks as well.
 * A name is matched on its last extension after trailing dots and spaces are dropped, because
 * Windows drops those too: "setup.exe." opens as setup.exe.
 */
export const FORBIDDEN_ATTACHMENT_EXTENSIONS: ReadonlySet<string> = new Set([
  "bat", "bin", "chm", "cmd", "com", "cpl", "crt", "exe", "hlp", "hta", "inf", "ins", "isp",
  "jar", "js", "jse", "lnk", "mdb", "msc", "msi", "msp", "mst", "pcd", "pif", "reg", "scr",
  "sct", "shs", "vb", "vba", "vbe", "vbs", "wsf", "wsh", "wsl",
]);

/** The forbidden extension of an attachment name, or null when the name may be sent. */
export function forbiddenExtension(name: string): string | null {
  let end = name.length;
  while (end > 0 && (name[end - 1] === "." || name[end - 1] === " ")) end--;
  const dot = name.lastIndexOf(".", end - 1);
  if (dot < 0) return null;
  const ext = name.slice(dot + 1, end).toLowerCase();
  return FORBIDDEN_ATTACHMENT_EXTENSIONS.has(ext) ? ext : null;
}
