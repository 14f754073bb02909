// Coded errors. Domains throw or return these; each edge (HTTP, SMTP) owns one table that maps a
// code to its protocol's reply. Codes are catalogued where they are defined (`<domain>.errors.ts`)
// so docs/errors.md can list them all.

export interface ErrorDefinition {
  readonly code: string;
  readonly description: string;
}

const catalogue = new Map<string, ErrorDefinition>();

export class PosthornError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "PosthornError";
    this.code = code;
    this.details = details;
  }
}

/** Declares an error code once, with a description for the catalogue, and returns its factory. */
export function defineError(code: string, description: string) {
  if (catalogue.has(code)) throw new Error(`error code defined twice: ${code}`);
  catalogue.set(code, { code, description });
  const make = (message: string = description, details: Record<string, unknown> = {}) =>
    new PosthornError(code, message, details);
  return Object.assign(make, { code });
}

export function errorCatalogue(): ErrorDefinition[] {
  return [...catalogue.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export function isPosthornError(err: unknown, code?: string): err is PosthornError {
  return err instanceof PosthornError && (code === undefined || err.code === code);
}
