// Taking one address out of a stored value: text, JSON text or bytes (a MIME message). The
// address becomes ERASED_ADDRESS wherever it appears, in any letter case; a display name written
// beside it ("Ada Lovelace" <ada@example.com>) goes with it, and in JSON the name fields of an
// object whose address field is the address are emptied ({address, name}, {Email, Name}).
//
// What this cannot see: the address inside encoded text (base64 or quoted-printable bodies,
// RFC 2047 encoded words, a hash or an index of the address). Those stay as they were; the
// README says so.

/** A reserved name (RFC 2606 .invalid): it can never be delivered to anyone. */
export const ERASED_ADDRESS = "erased@erased.invalid";

const ADDRESS_KEYS = new Set(["address", "email", "emailaddress", "recipient"]);
const NAME_KEYS = new Set(["name", "fromname", "displayname"]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The address anywhere (any case), with a display name in front of its angle brackets. */
function patterns(address: string): { named: RegExp; bare: RegExp } {
  const a = escapeRegExp(address);
  return {
    // "Name" <a>, Name <a>: the phrase of an RFC 5322 name-addr, up to a separator.
    named: new RegExp(`(?:"[^"\\r\\n]{0,200}"|[^,:;<>"\\r\\n]{0,200})[ \\t]*<${a}>`, "gi"),
    bare: new RegExp(a, "gi"),
  };
}

export function mentions(value: string, address: string): boolean {
  return value.toLowerCase().includes(address.toLowerCase());
}

/** The text without the address (and a display name beside it). */
export function redactText(text: string, address: string): string {
  const { named, bare } = patterns(address);
  // The separator before a name-addr (": " or ", ") is kept: the replacement is the bare address.
  return text.replace(named, (match) => `${/^\s/.test(match) ? " " : ""}<${ERASED_ADDRESS}>`).replace(bare, ERASED_ADDRESS);
}

/** JSON text without the address: names beside it emptied, then every occurrence replaced. */
export function redactJsonText(text: string, address: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactText(text, address);
  }
  const lower = address.toLowerCase();
  // Every string (and key) is redacted as text after parsing, never the serialised JSON, whose
  // escapes (\" in a header value) the display-name pattern would cut through.
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") return redactText(node, address);
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== "object") return node;
    const record = node as Record<string, unknown>;
    const named = Object.keys(record).some((k) => ADDRESS_KEYS.has(k.toLowerCase()) && typeof record[k] === "string" && (record[k] as string).toLowerCase() === lower);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      out[redactText(key, address)] = named && NAME_KEYS.has(key.toLowerCase()) && typeof value === "string" ? "" : walk(value);
    }
    return out;
  };
  return JSON.stringify(walk(parsed));
}

/** A stored value of any kind without the address. */
export function redactValue(value: string | Buffer, address: string): string | Buffer {
  if (Buffer.isBuffer(value)) {
    // latin1 maps each byte to one character and back, so bytes around the address are kept as they were.
    return Buffer.from(redactText(value.toString("latin1"), address), "latin1");
  }
  const trimmed = value.trimStart();
  return trimmed.startsWith("{") || trimmed.startsWith("[") ? redactJsonText(value, address) : redactText(value, address);
}
