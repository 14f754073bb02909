// The parsed form of a Mustachio template: text, values and blocks. Parsing makes it once
// (template.parser.ts); rendering (template.renderer.ts) and model inference
// (model.inference.ts) walk it without looking at the source again.

/** A reference to a value of the model: `name.sub`, `.`/`this`, `../name`, or the layout slot `@content`. */
export interface Path {
  /** How many scopes up the lookup starts (`../` once per level). */
  up: number;
  /** Names walked from that scope; empty for the scope itself (`.`, `this`). */
  names: string[];
  /** `@content`: the rendered body of the template a layout wraps. */
  slot: "content" | null;
  /** As written, for errors and inference. */
  source: string;
}

export type Node = TextNode | ValueNode | BlockNode;

export interface TextNode {
  kind: "text";
  text: string;
}

export interface ValueNode {
  kind: "value";
  path: Path;
  /** `{{ x }}` escapes HTML; `{{{ x }}}` and `{{& x }}` do not. */
  escape: boolean;
}

/**
 * section: `{{#x}}` — a scope for an object, a loop for an array, a truthiness check otherwise.
 * inverted: `{{^x}}` — rendered when x is falsy or an empty list.
 * each: `{{#each x}}` — a loop over a list. if: `{{#if x}}` — a check that keeps the scope.
 * `otherwise` holds what follows `{{else}}` (rendered when the block's own children are not).
 */
export interface BlockNode {
  kind: "block";
  type: "section" | "inverted" | "each" | "if";
  path: Path;
  children: Node[];
  otherwise: Node[];
}

/** Postmark's ValidationErrors entry, in our words: 1-based line and character of the tag. */
export interface TemplateSyntaxError {
  message: string;
  line: number;
  character: number;
}

export interface ParsedTemplate {
  nodes: Node[];
  errors: TemplateSyntaxError[];
}
