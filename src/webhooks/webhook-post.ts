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
  /** The start of the answer's body (RESPONSE_KEPT_BYTES), for the attempt's record. */
  response?: string;
  /** The answer's Retry-After field, as sent (a journey's webhook step honours it). */
  retryAfter?: string | null;
}

/** Idle connections are kept for a few seconds, and never more than this many per destination. */
const httpAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, timeout: 15_000 });
const httpsAgent = new https.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, timeout: 15_000 });

/** How much of an answer is read and kept: enough to show an endpoint's error, never a flood. */
export const RESPONSE_KEPT_BYTES = 1024;

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
    const { status, response, retryAfter } = await request(url, host, headers, body, timeoutMs, policy, extras.method ?? "POST");
    if (status >= 200 && status < 300) return { ok: true, status, error: null, response };
    return { ok: false, status, error: `HTTP ${status}`, response, retryAfter };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === DESTINATION_REFUSED) return { ok: false, status: null, error: REFUSED_MESSAGE, refused: true };
    return { ok: false, status: null, error: `${(err as Error).message}${code && !(err as Error).message.includes(code) ? ` (${code})` : ""}` };
  }
}

/** Makes the request and resolves with the response's status and the start of its body (the rest is read and dropped). */
function request(url: URL, host: string, headers: Record<string, string>, body: string, timeoutMs: number, policy: DestinationPolicy, method: string): Promise<{ status: number; response: string; retryAfter: string | null }> {
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
        res.on("data", (chunk: Buffer) => {
          if (keptBytes < RESPONSE_KEPT_BYTES) {
            kept.push(chunk.subarray(0, RESPONSE_KEPT_BYTES - keptBytes));
            keptBytes += Math.min(chunk.length, RESPONSE_KEPT_BYTES - keptBytes);
          }
        });
        const retryAfter = res.headers["retry-after"];
        res.on("end", () => resolve({ status: res.statusCode ?? 0, response: Buffer.concat(kept).toString("utf8"), retryAfter: typeof retryAfter === "string" ? retryAfter.slice(0, 100) : null }));
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
