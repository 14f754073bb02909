// Where tracking goes in a body: links become tracked URLs, and an HTML body gets the open pixel.
// The bodies are latin1 strings (one character per byte, see src/compose/mime-text-rewrite.ts);
// only ASCII is looked for and inserted.
//
// Which links: absolute http(s) URLs only (isTrackableUrl). In HTML, the href of an <a> or <area>
// element, unless the element carries data-pm-no-track (Postmark's opt-out attribute for a link);
// in plain text, every http(s) URL, without trailing sentence punctuation. Everything else —
// mailto:, tel:, anchors, template placeholders, links in attributes other than href — stays as
// written.
import { MAX_TRACKED_URL_CHARS, isTrackableUrl } from "./tracking-tokens.js";

/** Makes the tracked URL for an original link; null leaves the link as written. */
export type TrackLink = (url: string) => string | null;

const HREF = /(\shref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const TEXT_URL = /\bhttps?:\/\/[^\s<>"'`]+/gi;

export function trackHtmlLinks(html: string, track: TrackLink): string {
  // A scan by indexOf rather than one pattern over the body: each step moves past what it read, so
  // a hostile body (many "<a" and no ">") costs linear time, not quadratic.
  const lower = html.toLowerCase();
  const out: string[] = [];
  let copied = 0;
  let at = lower.indexOf("<a", 0);
  while (at >= 0) {
    const name = /^<(a|area)[\s/>]/.exec(lower.slice(at, at + 6));
    if (!name) {
      at = lower.indexOf("<a", at + 2);
      continue;
    }
    const close = html.indexOf(">", at);
    if (close < 0) break; // no tag ends after this one either
    const tag = html.slice(at, close + 1);
    const tracked = trackAnchor(tag, track);
    if (tracked !== tag) {
      out.push(html.slice(copied, at), tracked);
      copied = close + 1;
    }
    at = lower.indexOf("<a", close + 1);
  }
  out.push(html.slice(copied));
  return out.join("");
}

function trackAnchor(tag: string, track: TrackLink): string {
  if (/\sdata-pm-no-track\b/i.test(tag)) return tag;
  return tag.replace(HREF, (whole: string, prefix: string, _v: string, dq?: string, sq?: string, bare?: string) => {
    const written = dq ?? sq ?? bare ?? "";
    const url = decodeEntities(written.trim());
    if (!isTrackableUrl(url)) return whole;
    const tracked = track(url);
    return tracked === null ? whole : `${prefix}"${tracked}"`;
  });
}

export function trackTextLinks(text: string, track: TrackLink): string {
  return text.replace(TEXT_URL, (found: string) => {
    // Too long to track whatever its end: checked first, so the trimming below stays short.
    if (found.length > MAX_TRACKED_URL_CHARS + 100) return found;
    // "See https://example.com/a." ends the sentence, not the URL; a closing parenthesis counts
    // only when the URL opened one.
    let url = found.replace(/[.,;:!?]+$/, "");
    while (url.endsWith(")") && count(url, "(") < count(url, ")")) url = url.slice(0, -1).replace(/[.,;:!?]+$/, "");
    if (!isTrackableUrl(url)) return found;
    const tracked = track(url);
    return tracked === null ? found : tracked + found.slice(url.length);
  });
}

/** The open pixel, just before </body> when there is one, else at the end. */
export function addOpenPixel(html: string, pixelUrl: string): string {
  const img = `<img src="${pixelUrl}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
  // The last "</body" found from the end, not by a pattern with a look-ahead over the rest, which
  // would be quadratic in a body with many of them.
  const end = html.toLowerCase().lastIndexOf("</body");
  return end < 0 || !/^<\/body\s*>/i.test(html.slice(end, end + 64)) ? html + img : html.slice(0, end) + img + html.slice(end);
}

function count(s: string, c: string): number {
  return s.split(c).length - 1;
}

/** The entities an href may use for URL characters (&amp; above all); others are left encoded. */
function decodeEntities(value: string): string {
  return value.replace(/&(amp|#38|#x26|quot|#34|apos|#39|lt|gt);/gi, (_m, name: string) => {
    switch (name.toLowerCase()) {
      case "amp":
      case "#38":
      case "#x26":
        return "&";
      case "quot":
      case "#34":
        return '"';
      case "apos":
      case "#39":
        return "'";
      case "lt":
        return "<";
      default:
        return ">";
    }
  });
}
