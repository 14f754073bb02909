// Whether a value, as JSON text, is larger than a limit in UTF-8 bytes: the measure of a batch
// entry's size at the Track and pipeline edges. Measuring by JSON.stringify and Buffer.byteLength
// builds the text of every entry of every batch only to count it; at batched ingest that was ~5%
// of the ingest thread (docs/benchmarks.md). Nearly every entry is far below its limit, and an
// upper bound of its size says so from the lengths alone, without visiting a character: only an
// entry whose bound reaches the limit is measured exactly, so the answer is always the exact one.

/**
 * No number's JSON text is longer: 17 significant digits after "-0.00000" (JavaScript writes
 * numbers from 1e-6 down to 1e-7 without an exponent), as -0.0000018819090723991393. The longest
 * with an exponent, as "-1.7976931348623157e+308", is 24.
 */
const NUMBER_MAX = 25;
/** The most UTF-8 bytes one UTF-16 unit can become in JSON text: a control character or a lone surrogate, escaped as \uXXXX. */
const UNIT_MAX = 6;

/** Whether `Buffer.byteLength(JSON.stringify(value))` would exceed `limit`; a value JSON cannot write (undefined) counts as empty. */
export function jsonLargerThan(value: unknown, limit: number): boolean {
  if (boundOf(value, limit) <= limit) return false;
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8") > limit;
}

/**
 * At least the byte length of the value's JSON text; anything above `limit` once the walk has gone
 * past it (it stops there). Values JSON.parse cannot make (a Date, a Map, a class instance, a
 * function) give Infinity, so that their own JSON is measured exactly.
 */
function boundOf(value: unknown, limit: number): number {
  switch (typeof value) {
    case "string":
      return 2 + UNIT_MAX * value.length;
    case "number":
      return NUMBER_MAX;
    case "boolean":
      return 5;
    case "object": {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let total = 2 + value.length; // brackets and commas (one more than needed)
        for (const item of value) {
          total += boundOf(item, limit);
          if (total > limit) return total;
        }
        return total;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return Infinity;
      let total = 2;
      for (const key in value) {
        // The key quoted, a colon and a comma (one more than needed).
        total += 4 + UNIT_MAX * key.length + boundOf((value as Record<string, unknown>)[key], limit);
        if (total > limit) return total;
      }
      return total;
    }
    default:
      return Infinity;
  }
}
