// Parses Postmark's template language (Mustachio, a Mustache dialect) into template.ast.ts's tree.
// Tags: {{ x }} (escaped), {{{ x }}} and {{& x }} (raw), {{# x }}…{{/ x }} (section),
// {{^ x }}…{{/ x }} (inverted), {{#each x }}…{{/each}}, {{#if x }}…{{else}}…{{/if}} (the
// Handlebars form Postmark's editor also shows; a harmless superset of Mustachio), {{! comment }}.
// Whitespace inside a tag is ignored. Errors do not stop the parse: every one found is returned
// with its line and character, as Postmark's validate call lists them.
import type { BlockNode, Node, ParsedTemplate, Path, TemplateSyntaxError } from "./template.ast.js";

/** Blocks nested deeper than this are refused: rendering recurses once per level. */
export const MAX_NESTING = 64;
/** Errors reported per part; past this the template is broken enough. */
const MAX_ERRORS = 50;

/** A name in a dotted path: anything but whitespace, braces, slashes and dots (JSON keys are free-form). */
const NAME = /^[^\s{}/.]+$/;

interface OpenBlock {
  node: BlockNode;
  /** Where new children go: the block's own, or its `otherwise` after {{else}}. */
  target: Node[];
  offset: number;
}

export function parseTemplate(source: string): ParsedTemplate {
  const errors: TemplateSyntaxError[] = [];
  const fail = (message: string, offset: number) => {
    if (errors.length < MAX_ERRORS) errors.push({ message, ...positionOf(source, offset) });
  };
  const root: Node[] = [];
  const stack: OpenBlock[] = [];
  const target = () => (stack.length > 0 ? stack[stack.length - 1]!.target : root);
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf("{{", at);
    if (open === -1) {
      pushText(target(), source.slice(at));
      break;
    }
    if (open > at) pushText(target(), source.slice(at, open));
    const triple = source.startsWith("{{{", open);
    const closer = triple ? "}}}" : "}}";
    const close = source.indexOf(closer, open + closer.length);
    if (close === -1) {
      fail(`The tag starting here is never closed with '${closer}'.`, open);
      break;
    }
    const inner = source.slice(open + closer.length, close).trim();
    at = close + closer.length;
    if (triple) {
      const path = parsePath(inner);
      if (path) target().push({ kind: "value", path, escape: false });
      else fail(describeBadPath(inner), open);
      continue;
    }
    const sigil = inner.charAt(0);
    const rest = inner.slice(1).trim();
    if (sigil === "!") continue;
    if (sigil === "&") {
      const path = parsePath(rest);
      if (path) target().push({ kind: "value", path, escape: false });
      else fail(describeBadPath(rest), open);
    } else if (sigil === "#" || sigil === "^") {
      if (stack.length >= MAX_NESTING) {
        fail(`Blocks may be nested at most ${MAX_NESTING} deep.`, open);
        continue;
      }
      const [type, pathText] = blockType(sigil, rest);
      const path = parsePath(pathText);
      if (!path || path.slot) {
        fail(pathText === "" ? `The '${sigil}${type === "each" || type === "if" ? type : ""}' tag names no value.` : describeBadPath(pathText), open);
        continue;
      }
      const node: BlockNode = { kind: "block", type, path, children: [], otherwise: [] };
      target().push(node);
      stack.push({ node, target: node.children, offset: open });
    } else if (sigil === "/") {
      const top = stack[stack.length - 1];
      if (!top) {
        fail(`'{{/${rest}}}' closes a block that was never opened.`, open);
      } else if (!closes(top.node, rest)) {
        fail(`'{{/${rest}}}' does not match the open block '${openTag(top.node)}'.`, open);
      } else {
        stack.pop();
      }
    } else if (inner === "else") {
      const top = stack[stack.length - 1];
      if (!top || top.node.type === "inverted" || top.target === top.node.otherwise) fail("'{{else}}' is only allowed once inside a {{#…}} block.", open);
      else top.target = top.node.otherwise;
    } else {
      const path = parsePath(inner);
      if (path) target().push({ kind: "value", path, escape: true });
      else fail(describeBadPath(inner), open);
    }
  }
  for (const open of stack.reverse()) fail(`The block '${openTag(open.node)}' is never closed.`, open.offset);
  return { nodes: root, errors: errors.sort((a, b) => a.line - b.line || a.character - b.character) };
}

function pushText(nodes: Node[], text: string): void {
  const last = nodes[nodes.length - 1];
  if (last?.kind === "text") last.text += text;
  else nodes.push({ kind: "text", text });
}

function blockType(sigil: string, rest: string): [BlockNode["type"], string] {
  if (sigil === "^") return ["inverted", rest];
  const word = /^(each|if)(?:\s+|$)/.exec(rest);
  if (word) return [word[1] as "each" | "if", rest.slice(word[0].length).trim()];
  return ["section", rest];
}

function closes(node: BlockNode, name: string): boolean {
  if (node.type === "each" || node.type === "if") return name === node.type || name === node.path.source;
  return name === node.path.source;
}

function openTag(node: BlockNode): string {
  if (node.type === "each" || node.type === "if") return `{{#${node.type} ${node.path.source}}}`;
  return `{{${node.type === "inverted" ? "^" : "#"}${node.path.source}}}`;
}

/** `a.b`, `.`, `this`, `this.a`, `../a`, `@content`; null when the text is no path. */
export function parsePath(text: string): Path | null {
  let rest = text;
  let up = 0;
  while (rest.startsWith("../")) {
    up++;
    rest = rest.slice(3);
  }
  if (rest === "@content" && up === 0) return { up, names: [], slot: "content", source: text };
  if (rest === "." || rest === "this" || (rest === ".." && up > 0) || (rest === "" && up > 0)) {
    return { up: rest === ".." ? up + 1 : up, names: [], slot: null, source: text };
  }
  if (rest.startsWith("this.")) rest = rest.slice(5);
  if (rest === "") return null;
  const names = rest.split(".");
  if (!names.every((n) => NAME.test(n))) return null;
  return { up, names, slot: null, source: text };
}

function describeBadPath(text: string): string {
  if (text === "") return "The tag is empty: it names no value.";
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `'${shown}' is not a valid value name (names are separated by dots and contain no spaces or braces).`;
}

function positionOf(source: string, offset: number): { line: number; character: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf("\n"); i !== -1 && i < offset; i = source.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: offset - lineStart + 1 };
}
