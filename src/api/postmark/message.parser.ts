// Maps a Postmark `Message` JSON body (POST /email) onto the domain's MessageDraft. Only JSON
// types are checked here; what the values mean is validateMessage's job. Field names match as
// Postmark spells them; unknown fields are ignored and null means absent, as Postmark does.
import type { CustomHeader, LinkTracking, MessageDraft } from "../../messages/message.types.js";
import { MESSAGE_INVALID } from "../../messages/messages.errors.js";
import { TRACK_LINKS, linkTrackingOf } from "./postmark-words.js";

type Json = Record<string, unknown>;

export function parsePostmarkMessage(body: unknown): MessageDraft {
  if (!isObject(body)) throw MESSAGE_INVALID("The request body must be a JSON object (a Postmark Message).");
  return {
    from: optString(body, "From"),
    to: optString(body, "To"),
    cc: optString(body, "Cc"),
    bcc: optString(body, "Bcc"),
    replyTo: optString(body, "ReplyTo"),
    subject: optString(body, "Subject"),
    htmlBody: optString(body, "HtmlBody"),
    textBody: optString(body, "TextBody"),
    tag: optString(body, "Tag"),
    headers: parseHeaders(body.Headers),
    attachments: parseAttachments(body.Attachments),
    metadata: parseMetadata(body.Metadata),
    stream: optString(body, "MessageStream"),
    trackOpens: parseTrackOpens(body.TrackOpens),
    trackLinks: parseTrackLinks(body.TrackLinks),
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function wrongType(path: string, expected: string, v: unknown): Error {
  return MESSAGE_INVALID(`'${path}' must be ${expected}, not ${typeName(v)}.`, { field: path });
}

/** A string field; absent or null gives null. `path` names it in errors. */
function optString(o: Json, key: string, path: string = key): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw wrongType(path, "a string", v);
  return v;
}

function optArray(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw wrongType(path, "an array", v);
  return v;
}

function parseHeaders(v: unknown): CustomHeader[] {
  return optArray(v, "Headers").map((h, i) => {
    const path = `Headers[${i}]`;
    if (!isObject(h)) throw wrongType(path, "an object with Name and Value", h);
    const name = optString(h, "Name", `${path}.Name`);
    if (name === null) throw MESSAGE_INVALID(`'${path}.Name' is required.`, { field: `${path}.Name` });
    return { name, value: optString(h, "Value", `${path}.Value`) ?? "" };
  });
}

function parseAttachments(v: unknown): MessageDraft["attachments"] {
  return optArray(v, "Attachments").map((a, i) => {
    const path = `Attachments[${i}]`;
    if (!isObject(a)) throw wrongType(path, "an object with Name, Content and ContentType", a);
    return {
      // Missing Name or Content is reported by validateMessage, with the attachment's name.
      name: optString(a, "Name", `${path}.Name`) ?? "",
      content: optString(a, "Content", `${path}.Content`) ?? "",
      contentType: optString(a, "ContentType", `${path}.ContentType`),
      contentId: optString(a, "ContentID", `${path}.ContentID`),
    };
  });
}

function parseMetadata(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw wrongType("Metadata", "an object of strings", v);
  const entries: Array<[string, string]> = [];
  for (const key of Object.keys(v)) {
    const value = v[key];
    if (typeof value !== "string") throw wrongType(`Metadata.${clip(key)}`, "a string", value);
    entries.push([key, value]);
  }
  // fromEntries defines own properties, so a "__proto__" key from JSON.parse stays data.
  return Object.fromEntries(entries);
}

/** Values quoted in error messages are cut: the messages are returned and logged. */
function clip(s: string, max = 100): string {
  return s.length > max ? s.slice(0, max) + "…" : s;
}

function parseTrackOpens(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw wrongType("TrackOpens", "true or false", v);
  return v;
}

function parseTrackLinks(v: unknown): LinkTracking {
  if (v === undefined || v === null) return "none";
  if (typeof v !== "string") throw wrongType("TrackLinks", "a string", v);
  // Matched without regard to case (lenient, and unambiguous); the canonical spelling is kept.
  const match = TRACK_LINKS.find((t) => t.toLowerCase() === v.toLowerCase());
  if (match === undefined) {
    throw MESSAGE_INVALID(`'TrackLinks' must be one of ${TRACK_LINKS.join(", ")}, not '${clip(v)}'.`, { field: "TrackLinks" });
  }
  return linkTrackingOf(match);
}
