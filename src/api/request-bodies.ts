// Limits on request bodies that Fastify's per-route bodyLimit does not give: a smaller limit for
// some callers (Postmark's test token, which anyone may use), and a budget for the bytes of all
// bodies held at once, so that parallel large uploads are answered "retry later" instead of
// growing the process without bound. Both refuse on Content-Length before a byte is read, and
// count chunked bodies as they arrive.
import { Transform, type TransformCallback } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";

/** A body at most this large is always admitted by the budget (it cannot be what exhausts it). */
export const SMALL_BODY_BYTES = 1024 * 1024;

type Payload = NodeJS.ReadableStream & { receivedEncodedLength?: number };

/** The Content-Length a request declares, or null (chunked, or none). */
export function declaredLength(request: FastifyRequest): number | null {
  const header = request.headers["content-length"];
  if (header === undefined) return null;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/**
 * The payload, refused with `tooLarge()` once more than `limit` bytes arrive (at once when its
 * Content-Length says so).
 */
export function capped(request: FastifyRequest, payload: Payload, limit: number, tooLarge: () => Error): Payload {
  const declared = declaredLength(request);
  if (declared !== null && declared > limit) throw tooLarge();
  return counting(payload, (total) => (total > limit ? tooLarge() : null));
}

/** The bytes of request bodies held at once, across requests; see the file's comment. */
export class BodyBudget {
  private held = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly busy: () => Error,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  /** Admits the body of a request (or throws `busy()`); its bytes are released when the response is done. */
  admit(request: FastifyRequest, reply: FastifyReply, payload: Payload): Payload {
    let counted = 0;
    reply.raw.once("close", () => {
      this.held -= counted;
      counted = 0;
    });
    const declared = declaredLength(request);
    if (declared !== null) {
      if (this.refuses(declared, this.held)) throw this.busy();
      this.held += declared;
      counted = declared;
      return payload;
    }
    return counting(payload, (total, chunk) => {
      if (this.refuses(total, this.held - counted)) return this.busy();
      this.held += chunk;
      counted += chunk;
      return null;
    });
  }

  /**
   * Whether a body of `size` bytes, beside `others` held for other requests, is over the budget.
   * A body alone is never refused (its route's limit bounds it), nor is a small one.
   */
  private refuses(size: number, others: number): boolean {
    return size > SMALL_BODY_BYTES && others > 0 && others + size > this.maxBytes;
  }
}

/** A pass-through that reports each chunk; `check` returning an error fails the body with it. */
function counting(payload: Payload, check: (total: number, chunk: number) => Error | null): Payload {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      total += chunk.length;
      (counter as Payload).receivedEncodedLength = total;
      const err = check(total, chunk.length);
      if (err) return done(err);
      done(null, chunk);
    },
  });
  payload.on("error", (err: Error) => counter.destroy(err));
  return payload.pipe(counter) as Payload;
}
