// StrippedTextReply: the text a person typed above the message they replied to.
//
// Line-based and conservative: the reply ends at the first line that starts the quoted original,
// which is one of
// - an attribution line, possibly wrapped over up to three lines as Gmail does:
//   "On Tue, Oct 1, 2024 at 10:00 AM Jane <jane@example.com> wrote:" (Gmail, Apple Mail, Yahoo,
//   Thunderbird), and the same in French, German, Spanish, Dutch, Italian and Scandinavian forms,
//   or the older "2012/4/5 Jane <jane@example.com>" form;
// - a separator such as "-----Original Message-----" (Outlook, also localized);
// - an Outlook header block: "From: ..." followed within a few lines by "Sent: ..." or "Date: ...",
//   with the "____" rule Outlook puts above it;
// - a line quoted with ">" (and the unknown "... wrote:" style line just above it).
// Then a signature (from the last "-- " line on) and a trailing "Sent from my iPhone"-style
// line are removed.
//
// Choices where Postmark's behaviour is undocumented:
// - No quoted original found: stripReply returns "", as Postmark's StrippedTextReply is empty for
//   a message that is not a reply (seen in its real payloads). splitReply tells the two apart.
// - The quote at the top (bottom-posting or inline answers): the reply is the lines that are not
//   quoted, so that answers written under or between quotes are not lost.
// - Forwarded messages ("---------- Forwarded message ---------", "Begin forwarded message:")
//   are not replies: scanning stops at the banner, so what follows it (whose From:/Date: lines
//   look like an Outlook block) is not taken for a quote. The forwarded text is usually what
//   the sender wants read, and TextBody has it.
// - The output keeps the input's line ending (CRLF when the input has any).

export interface ReplySplit {
  /** The reply text, signature removed. */
  reply: string;
  /** Whether a quoted original was found. */
  found: boolean;
}

const ATTRIBUTIONS: readonly RegExp[] = [
  /^On\s.{1,300}\swrote:\s*$/,
  /^Le\s.{1,300}\sa\s+écrit\s?:\s*$/,
  /^Am\s.{1,300}\sschrieb\s.{0,200}:\s*$/,
  /^El\s.{1,300}\sescribió:\s*$/,
  /^Op\s.{1,300}\sschreef\s.{0,200}:\s*$/,
  /^Il\s.{1,300}\sha\s+scritto:\s*$/,
  /^Den\s.{1,300}\sskrev\s.{0,200}:\s*$/,
  // Older Gmail and some Asian locales: a date, a name and the address, nothing else.
  /^\d{4}[-./]\d{1,2}[-./]\d{1,2}\s.{0,200}<[^<>\s]+@[^<>\s]+>\s*:?\s*$/,
];

const ORIGINAL_SEPARATOR =
  /^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Originalmeddelande|Alkuperäinen viesti)\s*-{2,}\s*$/i;
const OUTLOOK_FROM = /^\s*\*?(From|Von|De|Van|Da|Från|Fra)\s?:\*?\s*\S/;
const OUTLOOK_SENT = /^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato|Skickat|Sendt)\s?:\*?\s*\S/;
const OUTLOOK_RULE = /^\s*_{10,}\s*$/;
const FORWARD_BANNER = /^\s*(-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré)\s*-{2,}|Begin forwarded message:)\s*$/i;
const QUOTED = /^\s*>/;
const SIGNATURE = /^-- ?$/;
const MOBILE_SIGNATURE =
  /^\s*(Sent from my \S.{0,40}|Sent from (Mail|Outlook) for \S.{0,40}|Get Outlook for \S.{0,40}|Sent from Yahoo Mail.{0,40}|Sent from Mailbox.{0,40}|Von meinem \S.{0,40} gesendet|Envoyé de mon \S.{0,40})\s*$/i;
/** How far an attribution may wrap, and how far below "From:" the "Sent:" line may be. */
const ATTRIBUTION_LINES = 3;
const OUTLOOK_LOOKAHEAD = 4;

interface Cut {
  /** First line of the quoted original. */
  start: number;
  /** Lines of the marker itself (attribution or header), dropped in the quote-first fallback. */
  markerLines: number;
}

/** The reply text above the quoted original ("On ... wrote:", "-----Original Message-----", "From: ... Sent: ...", lines starting with ">"), signature removed; "" when the text quotes nothing. */
export function stripReply(text: string): string {
  const split = splitReply(text);
  return split.found ? split.reply : "";
}

/** Like stripReply, but also says whether a quoted original was found; without one, reply is the whole text minus its signature. */
export function splitReply(text: string): ReplySplit {
  const input = typeof text === "string" ? text : "";
  const eol = input.includes("\r\n") ? "\r\n" : "\n";
  const lines = input.split(/\r\n|\n|\r/);
  const cut = findCut(lines);
  if (!cut) return { reply: finish(lines, eol), found: false };
  const above = lines.slice(0, cut.start);
  if (above.some((line) => line.trim() !== "")) return { reply: finish(above, eol), found: true };
  // Nothing above the quote: the answer is below or between the quoted lines.
  const unquoted = lines.filter((line, i) => !QUOTED.test(line) && (i < cut.start || i >= cut.start + cut.markerLines));
  return { reply: finish(unquoted, eol), found: true };
}

function findCut(lines: readonly string[]): Cut | null {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (FORWARD_BANNER.test(line)) return null;
    const attribution = attributionAt(lines, i);
    if (attribution > 0) return { start: i, markerLines: attribution };
    if (ORIGINAL_SEPARATOR.test(line)) return { start: i, markerLines: 1 };
    if (OUTLOOK_RULE.test(line)) {
      const next = nextNonBlank(lines, i + 1);
      const header = outlookHeaderAt(lines, next);
      if (header > 0) return { start: i, markerLines: next - i + header };
    }
    const header = outlookHeaderAt(lines, i);
    if (header > 0) return { start: i, markerLines: header };
    if (QUOTED.test(line)) return quoteCut(lines, i);
  }
  return null;
}

/** How many lines (1..3) an attribution starting at line i spans, or 0. */
function attributionAt(lines: readonly string[], i: number): number {
  const first = lines[i]?.trim() ?? "";
  if (first === "" || first.length > 300) return 0;
  let joined = "";
  for (let k = 0; k < ATTRIBUTION_LINES && i + k < lines.length; k++) {
    const part = (lines[i + k] ?? "").trim();
    if (part === "" || QUOTED.test(part)) break;
    joined = k === 0 ? part : `${joined} ${part}`;
    if (ATTRIBUTIONS.some((re) => re.test(joined))) return k + 1;
  }
  return 0;
}

/** How many lines an Outlook "From: / Sent:" header block starting at line i spans, or 0. */
function outlookHeaderAt(lines: readonly string[], i: number): number {
  if (i >= lines.length || !OUTLOOK_FROM.test(lines[i] ?? "")) return 0;
  for (let k = 1; k <= OUTLOOK_LOOKAHEAD && i + k < lines.length; k++) {
    if (OUTLOOK_SENT.test(lines[i + k] ?? "")) {
      // The block runs on to the first blank line (To:, Cc:, Subject: follow "Sent:").
      let end = i + k + 1;
      while (end < lines.length && (lines[end] ?? "").trim() !== "") end++;
      return end - i;
    }
  }
  return 0;
}

/** A quote that starts at line i; an unrecognized intro line ending in ":" just above it goes with it. */
function quoteCut(lines: readonly string[], i: number): Cut {
  let j = i - 1;
  while (j >= 0 && (lines[j] ?? "").trim() === "") j--;
  const intro = (lines[j] ?? "").trim();
  if (j >= 0 && intro.length <= 300 && intro.endsWith(":") && /wrote|schrieb|écrit|escribió|schreef|scritto|skrev|@/i.test(intro)) {
    return { start: j, markerLines: 1 };
  }
  return { start: i, markerLines: 0 };
}

function nextNonBlank(lines: readonly string[], from: number): number {
  let i = from;
  while (i < lines.length && (lines[i] ?? "").trim() === "") i++;
  return i;
}

/** Drops the signature and a trailing mobile signature line, trims blank lines at both ends; the lines are otherwise kept as they are. */
function finish(lines: readonly string[], eol: string): string {
  let body = [...lines];
  let signature = -1;
  for (let i = body.length - 1; i >= 0; i--) {
    if (SIGNATURE.test(body[i] ?? "")) {
      signature = i;
      break;
    }
  }
  if (signature >= 0) body = body.slice(0, signature);
  body = trimBlank(body);
  const last = body.length - 1;
  if (last >= 0 && MOBILE_SIGNATURE.test(body[last] ?? "")) body = trimBlank(body.slice(0, last));
  return body.join(eol);
}

function trimBlank(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && (lines[start] ?? "").trim() === "") start++;
  while (end > start && (lines[end - 1] ?? "").trim() === "") end--;
  return lines.slice(start, end);
}
