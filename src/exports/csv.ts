// CSV as RFC 4180 writes it: fields separated by commas, lines ended by CRLF, and a field quoted
// (its quotes doubled) when it holds a comma, a quote, CR or LF, or starts or ends with a space
// (which some readers trim). No library is a dependency for this, and the rule is small enough to
// keep here with its tests. Values are written as they are: no spreadsheet-formula escaping (a
// leading = or +), because exports feed data pipelines that must get the stored text back.

/** One field's text: null and undefined are empty; objects and arrays are JSON. */
export function csvText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

export function csvField(value: unknown): string {
  const text = csvText(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
