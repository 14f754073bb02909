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
}

export async function postWebhook(rawUrl: string, body: string, timeoutMs: number, userAgent: string, policy: DestinationPolicy): Promise<PostResult> {
  // Everything, the URL's parsing included, inside the try: a URL stored before it was validated
  // (or a fault of ours) must end as a failed attempt, never as an exception that leaves the post
  // claimed and the message Queued for ever.
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, status: null, error: `unsupported URL scheme ${url.protocol}` };
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // A literal IP is connected to without a lookup, so it is judged here.
    if (isIP(host) !== 0 && !policy.allows(host)) return { ok: false, status: null, error: REFUSED_MESSAGE, refused: true };
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": userAgent, "content-length": String(Buffer.byteLength(body)) };
    if (url.username || url.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    }
    const status = await request(url, host, headers, body, timeoutMs, policy);
    if (status >= 200 && status < 300) return { ok: true, status, error: null };
    return { ok: false, status, error: `HTTP ${status}` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === DESTINATION_REFUSED) return { ok: false, status: null, error: REFUSED_MESSAGE, refused: true };
    return { ok: false, status: null, error: `${(err as Error).message}${code && !(err as Error).message.includes(code) ? ` (${code})` : ""}` };
  }
}

/** Makes the request and resolves with the response's status (the body is read and dropped). */
function request(url: URL, host: string, headers: Record<string, string>, body: string, timeoutMs: number, policy: DestinationPolicy): Promise<number> {
  const client = url.protocol === "https:" ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      {
        method: "POST",
        host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers,
        lookup: policy.lookup,
        // A connection of its own, closed after the post: a pooled socket would skip the lookup.
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
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
