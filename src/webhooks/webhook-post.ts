// One webhook post over HTTP. Credentials in the URL (https://user:pass@host/path, Postmark's way
// of giving Basic auth) are sent as an Authorization header.
// Redirects are not followed: a hook answers itself or fails (a redirect could lead anywhere,
// including where the destination policy would not let us go).
//
// node:http rather than fetch: fetch (undici) takes no lookup function without the undici package
// as a dependency, and the destination policy (webhook-destinations.ts) must see the addresses a
// host name resolves to before anything connects.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { DESTINATION_REFUSED, REFUSED_MESSAGE, type DestinationPolicy } from "./webhook-destinations.js";

export interface PostResult {
  ok: boolean;
  /** The HTTP status, or null when none came (refused connection, timeout). */
  status: number | null;
  error: string | null;
  /** The destination is not allowed (webhook-destinations.ts): trying again cannot help. */
  refused?: boolean;
  /**
   * The start of the answer's body (RESPONSE_KEPT_BYTES) as text, for the attempt's record:
   * decoded as UTF-8 without a cut character, NULs replaced, and our own secrets blanked
   * (responseExcerpt).
   */
  response?: string;
  /** The body's whole size in bytes when known: read to its end, or its Content-Length when reading stopped at RESPONSE_DRAIN_BYTES. */
  responseBytes?: number | null;
  /** The answer's Retry-After field, as sent (a journey's webhook step honours it). */
  retryAfter?: string | null;
}

/** Idle connections are kept for a few seconds, and never more than this many per destination. */
const httpAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, timeout: 15_000 });
const httpsAgent = new https.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, timeout: 15_000 });

/** How much of an answer is read and kept: enough to show an endpoint's error, never a flood. */
export const RESPONSE_KEPT_BYTES = 1024;
/**
 * How much of an answer is read at most. The rest of a body is read and dropped so that the kept-alive
 * connection can carry the next post; past this the connection is closed instead, so an endpoint
 * that answers with a flood (or never ends its body) costs neither memory nor the post's whole timeout.
 */
export const RESPONSE_DRAIN_BYTES = 1024 * 1024;
/** Shorter values of the endpoint's own headers are not blanked in an answer: "1" or "json" would blank ordinary text. */
const MIN_BLANKED_CHARS = 8;

/** What a post carries besides its body: the endpoint's own headers and credentials, and the signature. */
export interface PostExtras {
  headers?: Record<string, string>;
  /** POST unless given (a journey's webhook step chooses its method). */
  method?: string;
  auth?: { username: string; password: string } | null;
}

export async function postWebhook(rawUrl: string, body: string, timeoutMs: number, userAgent: string, policy: DestinationPolicy, extras: PostExtras = {}): Promise<PostResult> {
  // Everything, the URL's parsing included, inside the try: a URL stored before it was validated
  // (or a fault of ours) must end as a failed attempt, never as an exception that leaves the post
  // claimed and the message Queued for ever.
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, status: null, error: `unsupported URL scheme ${url.protocol}` };
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // A literal IP is connected to without a lookup, so it is judged here.
    if (isIP(host) !== 0 && !policy.allows(host)) return { ok: false, status: null, error: REFUSED_MESSAGE, refused: true };
    // The endpoint's own headers first, so that ours (type, length, signature) win.
    const headers: Record<string, string> = { ...extras.headers, "content-type": "application/json", "user-agent": userAgent, "content-length": String(Buffer.byteLength(body)) };
    const auth = extras.auth ?? (url.username || url.password ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : null);
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    const answer = await request(url, host, headers, body, timeoutMs, policy, extras.method ?? "POST");
    const { status, retryAfter, responseBytes } = answer;
    const response = responseExcerpt(answer.kept, secretsOf(headers, extras.headers, auth));
    if (status >= 200 && status < 300) return { ok: true, status, error: null, response, responseBytes };
    return { ok: false, status, error: `HTTP ${status}`, response, responseBytes, retryAfter };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === DESTINATION_REFUSED) return { ok: false, status: null, error: REFUSED_MESSAGE, refused: true };
    return { ok: false, status: null, error: `${(err as Error).message}${code && !(err as Error).message.includes(code) ? ` (${code})` : ""}` };
  }
}

/**
 * What of our request must not be kept if the endpoint echoes it back (echo services and debugging
 * endpoints answer with the request's headers): the Authorization value, the credentials in clear,
 * the signature, and the endpoint's own header values (often API keys) of MIN_BLANKED_CHARS or more.
 */
function secretsOf(sent: Record<string, string>, own: Record<string, string> | undefined, auth: { username: string; password: string } | null): string[] {
  const secrets: string[] = [];
  if (sent.authorization) secrets.push(sent.authorization, sent.authorization.replace(/^Basic /, ""));
  if (auth?.password) secrets.push(auth.password, `${auth.username}:${auth.password}`);
  for (const [name, value] of Object.entries(sent)) if (/signature/i.test(name)) secrets.push(value);
  for (const value of Object.values(own ?? {})) if (value.length >= MIN_BLANKED_CHARS) secrets.push(value);
  // Longest first, so a secret that contains another is blanked whole.
  return [...new Set(secrets.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
}

/**
 * The kept bytes as text to store and show: UTF-8 decoded in streaming mode, so a character cut at
 * the byte limit is left out rather than turned into a wrong one; NUL replaced (PostgreSQL's text
 * cannot hold it, and the outcome's write would fail and the post repeat); echoed secrets blanked.
 * Any other byte is kept: the page shows the excerpt as text, never as markup.
 */
export function responseExcerpt(kept: Buffer, secrets: readonly string[] = []): string {
  let text = new TextDecoder("utf-8").decode(kept, { stream: true }).replaceAll("\u0000", "\ufffd");
  for (const secret of secrets) text = text.split(secret).join("[redacted]");
  return text;
}

interface Answer {
  status: number;
  /** The body's first RESPONSE_KEPT_BYTES bytes. */
  kept: Buffer;
  responseBytes: number | null;
  retryAfter: string | null;
}

/** Makes the request and resolves with the response's status and the start of its body (the rest is read and dropped, up to RESPONSE_DRAIN_BYTES). */
function request(url: URL, host: string, headers: Record<string, string>, body: string, timeoutMs: number, policy: DestinationPolicy, method: string): Promise<Answer> {
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        method,
        host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers,
        lookup: policy.lookup,
        // Kept-alive connections are reused: each was checked by the policy when it connected
        // (lookup above, or the literal IP check), and a reused socket stays connected to that
        // address, so reuse skips no check. A new TCP (and TLS) connection per post held posting
        // to a few hundred a second.
        agent: url.protocol === "https:" ? httpsAgent : httpAgent,
      },
      (res) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let readBytes = 0;
        const retryAfterField = res.headers["retry-after"];
        const retryAfter = typeof retryAfterField === "string" ? retryAfterField.slice(0, 100) : null;
        const declared = Number(res.headers["content-length"]);
        const answer = (responseBytes: number | null): Answer => ({ status: res.statusCode ?? 0, kept: Buffer.concat(kept), responseBytes, retryAfter });
        res.on("data", (chunk: Buffer) => {
          readBytes += chunk.length;
          if (keptBytes < RESPONSE_KEPT_BYTES) {
            kept.push(chunk.subarray(0, RESPONSE_KEPT_BYTES - keptBytes));
            keptBytes += Math.min(chunk.length, RESPONSE_KEPT_BYTES - keptBytes);
          }
          if (readBytes > RESPONSE_DRAIN_BYTES) {
            // Resolved first: destroying the answer makes the request emit an error, which a settled promise ignores.
            resolve(answer(Number.isSafeInteger(declared) && declared >= readBytes ? declared : null));
            res.destroy();
          }
        });
        res.on("end", () => resolve(answer(readBytes)));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs);
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.on("close", () => clearTimeout(timer));
    req.end(body);
  });
}
