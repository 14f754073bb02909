// What the official postmark client's rejection says, for tests that check error replies.

/** The client's rejection, reduced to what a caller can act on. */
export async function failure(call: Promise<unknown>): Promise<{ name: string; statusCode: number; code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { name: string; statusCode: number; code: number; message: string };
    return { name: e.name, statusCode: e.statusCode, code: e.code, message: e.message };
  }
  throw new Error("the call succeeded");
}
