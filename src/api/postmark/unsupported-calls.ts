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
  // Sending with templates, and bulk sending.
  call("POST", "/email/withtemplate"),
  call("POST", "/email/batchwithtemplates"),
  call("POST", "/email/bulk"),
  call("GET", "/email/bulk/{id}"),
  // Bounces.
  call("GET", "/deliverystats"),
  call("GET", "/bounces"),
  call("GET", "/bounces/{id}"),
  call("GET", "/bounces/{id}/dump"),
  call("PUT", "/bounces/{id}/activate"),
  // Templates.
  call("GET", "/templates"),
  call("POST", "/templates"),
  call("POST", "/templates/validate"),
  call("GET", "/templates/{id}"),
  call("PUT", "/templates/{id}"),
  call("DELETE", "/templates/{id}"),
  call("PUT", "/templates/push", "account"),
  // Opens and clicks.
  call("GET", "/messages/outbound/opens"),
  call("GET", "/messages/outbound/opens/{id}"),
  call("GET", "/messages/outbound/clicks"),
  call("GET", "/messages/outbound/clicks/{id}"),
  // Webhooks.
  call("GET", "/webhooks"),
  call("POST", "/webhooks"),
  call("GET", "/webhooks/{id}"),
  call("PUT", "/webhooks/{id}"),
  call("DELETE", "/webhooks/{id}"),
  // Message streams and suppressions.
  call("GET", "/message-streams"),
  call("POST", "/message-streams"),
  call("GET", "/message-streams/{id}"),
  call("PATCH", "/message-streams/{id}"),
  call("POST", "/message-streams/{id}/(archive|unarchive)"),
  call("GET", "/message-streams/{id}/suppressions/dump"),
  call("POST", "/message-streams/{id}/suppressions"),
  call("POST", "/message-streams/{id}/suppressions/delete"),
  // The account API: servers, sender signatures, data removal.
  call("GET", "/servers", "account"),
  call("POST", "/servers", "account"),
  call("GET", "/servers/{id}", "account"),
  call("PUT", "/servers/{id}", "account"),
  call("DELETE", "/servers/{id}", "account"),
  call("GET", "/senders", "account"),
  call("POST", "/senders", "account"),
  call("GET", "/senders/{id}", "account"),
  call("PUT", "/senders/{id}", "account"),
  call("DELETE", "/senders/{id}", "account"),
  call("POST", "/senders/{id}/(resend|verifyspf|requestnewdkim)", "account"),
  call("POST", "/data-removals", "account"),
  call("GET", "/data-removals/{id}", "account"),
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
