// Polling for asynchronous outcomes (deliveries, events) in end-to-end tests.

/** Calls `fn` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error("condition not met before the timeout");
    await new Promise((r) => setTimeout(r, 50));
  }
}
