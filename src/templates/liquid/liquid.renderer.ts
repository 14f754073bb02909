// Liquid (liquidjs) for journeys, broadcasts and Customer.io-style transactional messages:
// `{{ customer.first_name }}`, `{{ event.cart_id }}`, `{% if %}`, filters such as `default`.
// Customer.io's current engine behaves as liquidjs does (better filters, `default`), so the
// library its peers (Dittofeed, Laudspeaker) also chose is used as it is, configured to be safe
// with templates and data that come from users:
// - no file system: `include`/`render`/`layout` find nothing (a template cannot read a file);
// - own properties only: `{{ customer.constructor }}` is empty, no prototype is reachable;
// - bounded: parse length, render time and memory limits, so a hostile loop fails with
//   LIQUID_RENDER_LIMIT instead of holding the event loop;
// - parse errors are LIQUID_SYNTAX_INVALID with the line and column liquidjs gives.
// Parsed templates are cached by their text (bounded), since a journey renders the same few
// templates for every person. liquidjs is loaded at the first template, not with the module: it
// is one large file (~100 ms of CPU to load), and most processes never render Liquid.
import type { Liquid, Template } from "liquidjs";
import { lazyModule } from "../../shared/lazy-module.js";
import type { PosthornError } from "../../shared/errors.js";
import { LiquidRenderFailed, LiquidRenderLimit, LiquidSyntax } from "./liquid.errors.js";

/** What a template can read: `customer`, `event`, `trigger`, `journey`, `steps`, `campaign`, … */
export type LiquidScope = Record<string, unknown>;

export interface LiquidLimits {
  /** Characters of template text. */
  maxTemplateChars: number;
  /** Milliseconds of rendering (liquidjs renderLimit). */
  maxRenderMs: number;
  /** liquidjs memoryLimit: roughly the characters of strings and array lengths made while rendering. */
  maxMemory: number;
}

export const DEFAULT_LIQUID_LIMITS: Readonly<LiquidLimits> = Object.freeze({ maxTemplateChars: 512 * 1024, maxRenderMs: 1_000, maxMemory: 20 * 1024 * 1024 });

const CACHE_SIZE = 500;

const liquidjs = lazyModule<typeof import("liquidjs")>("liquidjs");

export class LiquidRenderer {
  private made: Liquid | null = null;
  private readonly cache = new Map<string, Template[]>();
  private readonly limits: LiquidLimits;

  constructor(limits: Partial<LiquidLimits> = {}) {
    this.limits = { ...DEFAULT_LIQUID_LIMITS, ...limits };
  }

  private get engine(): Liquid {
    if (this.made) return this.made;
    const { Liquid } = liquidjs();
    this.made = new Liquid({
      ownPropertyOnly: true,
      strictFilters: true,
      strictVariables: false,
      parseLimit: this.limits.maxTemplateChars,
      renderLimit: this.limits.maxRenderMs,
      memoryLimit: this.limits.maxMemory,
      // No partials from anywhere: an include names nothing that exists.
      relativeReference: false,
      root: [],
      partials: [],
      layouts: [],
      fs: noFiles,
    });
    return this.made;
  }

  /** Checks a template's syntax; throws LIQUID_SYNTAX_INVALID naming the line and column. */
  check(template: string): void {
    this.parse(template);
  }

  /** Renders `template` with `scope`; throws LIQUID_SYNTAX_INVALID, LIQUID_RENDER_LIMIT or LIQUID_RENDER_FAILED. */
  async render(template: string, scope: LiquidScope): Promise<string> {
    const parsed = this.parse(template);
    try {
      return String(await this.engine.render(parsed, scope));
    } catch (err) {
      throw renderError(err);
    }
  }

  /**
   * Renders without awaiting, for decisions that cannot wait (a journey's exit and goal match
   * values, checked as each event comes); the same bounds and errors as render().
   */
  renderSync(template: string, scope: LiquidScope): string {
    const parsed = this.parse(template);
    try {
      return String(this.engine.renderSync(parsed, scope));
    } catch (err) {
      throw renderError(err);
    }
  }

  private parse(template: string): Template[] {
    const cached = this.cache.get(template);
    if (cached) return cached;
    if (template.length > this.limits.maxTemplateChars) throw LiquidRenderLimit(`The template is longer than ${this.limits.maxTemplateChars} characters.`);
    let parsed: Template[];
    try {
      parsed = this.engine.parse(template);
    } catch (err) {
      const e = err as { message?: string; token?: { getPosition?: () => [number, number] } };
      const [line, column] = e.token?.getPosition?.() ?? [null, null];
      throw LiquidSyntax(`Liquid syntax error: ${firstLine(e.message ?? String(err))}`, { line, column });
    }
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(template, parsed);
    return parsed;
  }
}

function renderError(err: unknown): PosthornError {
  const message = firstLine(err instanceof Error ? err.message : String(err));
  if (/limit exceeded/i.test(message)) return LiquidRenderLimit(`Rendering went past its limits: ${message}`);
  return LiquidRenderFailed(`Rendering failed: ${message}`);
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}

const refuse = (file: string) => Promise.reject(new Error(`templates cannot read files (${file})`));
const noFiles = {
  exists: async () => false,
  existsSync: () => false,
  readFile: refuse,
  readFileSync: (file: string) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_dir: string, file: string) => file,
  sep: "/",
};
