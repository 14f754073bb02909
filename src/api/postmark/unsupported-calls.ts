// The Postmark API calls that Posthorn does not serve yet, so that a client calling one learns
// that, in Postmark's error form, rather than a bare 404 it would report as ErrorCode 0 (the
// official client reads ErrorCode and Message from every error body). Each call is listed with
// the token family it needs: the caller is authenticated first, like any other request, so an
// unauthenticated client learns nothing about which calls exist. When a call is built, its line
// here goes (docs/postmark-compatibility.md lists the same calls).

export type TokenFamily = "server" | "account";

interface UnsupportedCall {
  method: string;
  /** Matched against the lower-cased path without its query or trailing slash. */
  path: RegExp;
  family: TokenFamily;
}

const ID = "[^/]+";

function call(method: string, path: string, family: TokenFamily = "server"): UnsupportedCall {
  return { method, path: new RegExp(`^${path.replaceAll("{id}", ID)}$`), family };
}

const CALLS: UnsupportedCall[] = [
];

/** The unsupported Postmark call a request names, if it names one. */
export function unsupportedCall(method: string, url: string): UnsupportedCall | null {
  const path = pathOf(url);
  return CALLS.find((c) => c.method === method && c.path.test(path)) ?? null;
}

/** The lower-cased path of a request URL, without its query string or a trailing slash. */
export function pathOf(url: string): string {
  const query = url.indexOf("?");
  let path = (query < 0 ? url : url.slice(0, query)).toLowerCase();
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}
