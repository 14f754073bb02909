// Mailbox providers whose addresses cannot be sender signatures. Their domains publish strict DMARC
// policies (p=reject or quarantine), so mail From them sent by anyone else fails at receivers, and
// anyone can open a mailbox there: a confirmed signature would prove little. Postmark refuses
// them too (its ErrorCode 503). Kept as data; exact domains only (a company's own subdomain of a
// provider is not on the list). Lower-case A-labels.
export const PUBLIC_MAILBOX_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com", "googlemail.com",
  "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.co.jp", "ymail.com", "rocketmail.com",
  "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "live.com", "msn.com",
  "aol.com", "aim.com",
  "icloud.com", "me.com", "mac.com",
  "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com",
  "yandex.com", "yandex.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru",
  "protonmail.com", "proton.me", "pm.me", "tutanota.com", "tuta.io",
  "zoho.com", "fastmail.com",
  "qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net",
  "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "orange.fr", "free.fr", "laposte.net", "t-online.de", "libero.it", "seznam.cz", "wp.pl", "o2.pl",
]);

export function isPublicMailboxDomain(domain: string): boolean {
  return PUBLIC_MAILBOX_DOMAINS.has(domain.toLowerCase());
}
