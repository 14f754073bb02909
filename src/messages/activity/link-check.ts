// The developer inbox's link check: the links of a message's HTML, each flagged when it needs a
// look before the mail goes to real people (plain http:, an empty href, a "#" placeholder). A
// pattern over <a href> is enough here: it lists what a reader can click; it is not a sanitizer.
export interface CheckedLink {
  href: string;
  text: string;
  problem: "http" | "empty" | "placeholder" | null;
}

const ANCHOR = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
/** A page of links is plenty to review; a mail with more is listed up to here. */
const MAX_LINKS = 500;

export function checkLinks(html: string | null): CheckedLink[] {
  if (!html) return [];
  const out: CheckedLink[] = [];
  for (const match of html.matchAll(ANCHOR)) {
    if (out.length >= MAX_LINKS) break;
    const attributes = match[1] ?? "";
    const found = HREF.exec(attributes);
    const href = decodeEntities((found?.[1] ?? found?.[2] ?? found?.[3] ?? "").trim());
    const text = decodeEntities((match[2] ?? "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim()).slice(0, 200);
    out.push({ href, text, problem: problemOf(href, found !== null) });
  }
  return out;
}

function problemOf(href: string, present: boolean): CheckedLink["problem"] {
  if (!present || href === "") return "empty";
  if (href === "#" || href.startsWith("#")) return "placeholder";
  if (/^http:/i.test(href)) return "http";
  return null;
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}
