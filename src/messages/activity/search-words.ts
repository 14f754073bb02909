// What a search of the activity list means (docs/dashboard/activity.md): the words of the query,
// every one of them found as a whole word in the subject or a To/Cc/Bcc address, in any order and
// any case. A word is a run of letters, digits and combining marks; everything else separates
// words, as both indexes split the text (SQLite's unicode61 tokenizer; PostgreSQL's after ASCII
// punctuation is made a space, migration 038). So "@acme.com" asks for "acme" and "com",
// "order #1001" for "order" and "1001", and no character has a meaning of its own: `"`, `*`, `-`,
// `NEAR`, `OR` are punctuation or plain words, never operators.
//
// The words are handed to the databases in forms that cannot carry syntax: FTS5 phrases in double
// quotes (a word holds no quote), PostgreSQL's plainto_tsquery (which reads no operators at all).

/** Words a query may hold: each one more index lookup to intersect. */
export const MAX_SEARCH_WORDS = 8;
/** Longest word looked up; a longer one is cut (no word in a subject or address is near it). */
export const MAX_WORD_LENGTH = 100;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * The distinct words of a query, lowercase, at most MAX_SEARCH_WORDS (the dashboard's contract
 * refuses more, and a query without a word, with a 400); empty when it holds none.
 */
export function searchWords(text: string): string[] {
  const words = wordsOf(text).map((w) => w.slice(0, MAX_WORD_LENGTH));
  return [...new Set(words)].slice(0, MAX_SEARCH_WORDS);
}

/** Every word of a text as the query and the indexes split it, lowercase (a document's words, for search-page.ts's walk). */
export function wordsOf(text: string): string[] {
  return text.normalize("NFC").toLowerCase().match(WORD) ?? [];
}

/** Whether a document's text holds every one of these words (searchWords' output) as a whole word. */
export function holdsWords(text: string, words: readonly string[]): boolean {
  const own = new Set(wordsOf(text).map((w) => w.slice(0, MAX_WORD_LENGTH)));
  return words.every((w) => own.has(w));
}

/** An FTS5 query: every word, as a phrase (so never an operator), in the body column. */
export function ftsQuery(words: readonly string[]): string {
  return `body : (${words.map((w) => `"${w.replaceAll('"', '""')}"`).join(" AND ")})`;
}

/** The FTS5 token of a workspace: its id in hex, one word whatever characters the id holds. */
export function workspaceToken(workspaceId: string): string {
  return `w${Buffer.from(workspaceId, "utf8").toString("hex")}`;
}
