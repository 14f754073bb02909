// The container's HEALTHCHECK: GET /healthz on this container's own HTTP port, exit 0 when it
// answers 200, 1 otherwise (Docker's contract). Which port: the metrics listener's when
// POSTHORN_METRICS_LISTEN is set (it is the only HTTP port of an mta, smtp or worker container, and
// it keeps answering when the API is saturated), else the API's POSTHORN_HTTP_PORT (default 8080).
// Plain JavaScript with no import, so it runs in the image as it is and costs no module loading.
/* global AbortSignal */
const TIMEOUT_MS = 4000;

function target(env) {
  const listen = env.POSTHORN_METRICS_LISTEN?.trim();
  if (listen) {
    const port = /:(\d{1,5})$/.exec(listen)?.[1];
    if (port) return `http://127.0.0.1:${port}/healthz`;
  }
  return `http://127.0.0.1:${env.POSTHORN_HTTP_PORT || "8080"}/healthz`;
}

const url = target(process.env);
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) {
    process.stderr.write(`healthcheck: ${url} answered ${response.status}\n`);
    process.exit(1);
  }
} catch (err) {
  process.stderr.write(`healthcheck: ${url}: ${err.message}\n`);
  process.exit(1);
}
