// One webhook post over HTTP. Credentials in the URL (https://user:pass@host/path, Postmark's way
// of giving Basic auth) are sent as an Authorization header: fetch refuses URLs that carry them.
// Redirects are not followed: a hook answers itself or fails.

export interface PostResult {
  ok: boolean;
  /** The HTTP status, or null when none came (refused connection, timeout). */
  status: number | null;
  error: string | null;
}

export async function postWebhook(rawUrl: string, body: string, timeoutMs: number, userAgent: string): Promise<PostResult> {
  // Everything, the URL's parsing included, inside the try: a URL stored before it was validated
  // (or a fault of ours) must end as a failed attempt, never as an exception that leaves the post
  // claimed and the message Queued for ever.
  try {
    const url = new URL(rawUrl);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": userAgent };
    if (url.username || url.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    const response = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, error: null };
    return { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, status: null, error: (err as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : `${(err as Error).message}${cause ? ` (${cause})` : ""}` };
  }
}
