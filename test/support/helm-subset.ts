// A renderer for the small subset of Helm's template language that deploy/helm/posthorn uses, so
// the chart's output can be tested on a machine without the helm binary. It is NOT Helm: it
// implements exactly the subset listed in deploy/helm/posthorn/README.md, and throws on anything
// else, so that a template reaching outside the subset fails the test instead of rendering wrong.
//
//   actions      {{ pipeline }}, {{- and -}} whitespace trimming, {{/* comments */}}
//   control      if PIPE / else / end;  range PIPE, range $v := PIPE, range $k, $v := PIPE / end
//                (maps in sorted key order, as Go does);  define "name" / end
//   values       .Values.a.b  .Release.Name  .Chart.Name  $ (the root)  $var.a  .  "strings"  numbers
//   pipelines    a | f x  (the piped value is the last argument);  (sub expressions)
//   functions    include dict toYaml nindent indent quote default required printf(%s %v %d) eq not and or
import { stringify } from "yaml";

type Value = unknown;
interface Scope {
  dot: Value;
  root: Value;
  vars: Map<string, Value>;
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "output"; pipe: string }
  | { kind: "if"; pipe: string; then: Node[]; otherwise: Node[] }
  | { kind: "range"; pipe: string; key: string | null; value: string | null; body: Node[] };

type Token = { kind: "text"; text: string } | { kind: "action"; text: string };

/** Splits the template into text and actions, applying {{- and -}} trimming. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf("{{", at);
    let text = source.slice(at, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open < 0) {
      tokens.push({ kind: "text", text });
      break;
    }
    const close = source.indexOf("}}", open);
    if (close < 0) throw new Error(`unclosed action at ${open}`);
    let inner = source.slice(open + 2, close);
    if (inner.startsWith("-")) {
      text = text.replace(/\s+$/, "");
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith("-");
    if (trimNext) inner = inner.slice(0, -1);
    tokens.push({ kind: "text", text });
    tokens.push({ kind: "action", text: inner.trim() });
    at = close + 2;
  }
  return tokens;
}

/** Parses tokens into nodes until one of `stops` (else/end); named templates go to `defines`. */
function parse(tokens: Token[], defines: Map<string, Node[]>): Node[] {
  let index = 0;
  const block = (stops: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (index < tokens.length) {
      const token = tokens[index++]!;
      if (token.kind === "text") {
        if (token.text) nodes.push({ kind: "text", text: token.text });
        continue;
      }
      const action = token.text;
      if (action.startsWith("/*")) {
        if (!action.endsWith("*/")) throw new Error(`comment not closed: ${action}`);
        continue;
      }
      const [word] = action.split(/\s+/, 1);
      if (stops.includes(action)) return { nodes, stop: action };
      if (word === "if") {
        const then = block(["else", "end"]);
        const otherwise = then.stop === "else" ? block(["end"]).nodes : [];
        nodes.push({ kind: "if", pipe: action.slice(2).trim(), then: then.nodes, otherwise });
      } else if (word === "range") {
        const match = /^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*)?(.+)$/.exec(action);
        if (!match) throw new Error(`unsupported range: ${action}`);
        const [key, value] = match[2] ? [match[1]!, match[2]] : [null, match[1] ?? null];
        nodes.push({ kind: "range", pipe: match[3]!, key, value, body: block(["end"]).nodes });
      } else if (word === "define") {
        const name = /^define\s+"([^"]+)"$/.exec(action)?.[1];
        if (!name) throw new Error(`unsupported define: ${action}`);
        defines.set(name, block(["end"]).nodes);
      } else if (["else", "end", "with", "template", "block", "break", "continue"].includes(word!) || action.includes(":=")) {
        throw new Error(`outside the supported subset: {{ ${action} }}`);
      } else {
        nodes.push({ kind: "output", pipe: action });
      }
    }
    if (stops.length > 0) throw new Error(`missing {{ end }} (wanted ${stops.join(" or ")})`);
    return { nodes, stop: "" };
  };
  return block([]).nodes;
}

/** Go template truth: false, 0, nil, "" and empty collections are false. */
function truthy(value: Value): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** Splits on `sep` outside quotes and parentheses. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' && text[i - 1] !== "\\") quoted = !quoted;
    if (!quoted && c === "(") depth++;
    if (!quoted && c === ")") depth--;
    if (!quoted && depth === 0 && (sep === " " ? /\s/.test(c) : c === sep)) {
      if (current.trim()) parts.push(current.trim());
      current = "";
    } else {
      current += c;
    }
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

function lookup(base: Value, path: string[], text: string): Value {
  let value = base;
  for (const field of path) {
    if (value === null || value === undefined) return undefined;
    if (typeof value !== "object") throw new Error(`${text}: cannot read .${field} of ${String(value)}`);
    value = (value as Record<string, Value>)[field];
  }
  return value;
}

export class HelmSubset {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates = new Map<string, Node[]>();

  /** `files`: template file name → text; names starting with "_" hold only defines, as in Helm. */
  constructor(files: Record<string, string>) {
    for (const [name, text] of Object.entries(files)) {
      const nodes = parse(tokenize(text), this.defines);
      if (!name.startsWith("_")) this.templates.set(name, nodes);
    }
  }

  /** Each template's output, by file name, for a root of { Values, Release, Chart }. */
  render(root: Record<string, Value>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, nodes] of this.templates) out[name] = this.run(nodes, { dot: root, root, vars: new Map() });
    return out;
  }

  private run(nodes: Node[], scope: Scope): string {
    let out = "";
    for (const node of nodes) {
      if (node.kind === "text") out += node.text;
      else if (node.kind === "output") out += this.print(this.pipeline(node.pipe, scope));
      else if (node.kind === "if") out += this.run(truthy(this.pipeline(node.pipe, scope)) ? node.then : node.otherwise, scope);
      else out += this.range(node, scope);
    }
    return out;
  }

  private range(node: Extract<Node, { kind: "range" }>, scope: Scope): string {
    const collection = this.pipeline(node.pipe, scope);
    if (collection === null || collection === undefined) return "";
    const entries: Array<[Value, Value]> = Array.isArray(collection)
      ? collection.map((v, i) => [i, v])
      : typeof collection === "object"
        ? Object.keys(collection).sort().map((k) => [k, (collection as Record<string, Value>)[k]])
        : (() => {
            throw new Error(`range over ${String(collection)}`);
          })();
    let out = "";
    for (const [key, value] of entries) {
      const vars = new Map(scope.vars);
      if (node.key) vars.set(node.key, key);
      if (node.value) vars.set(node.value, value);
      out += this.run(node.body, { dot: value, root: scope.root, vars });
    }
    return out;
  }

  private print(value: Value): string {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") throw new Error(`printing a collection (${JSON.stringify(value)}): use toYaml`);
    return String(value);
  }

  private pipeline(text: string, scope: Scope): Value {
    let piped: Value[] = [];
    for (const command of splitTop(text, "|")) piped = [this.command(command, scope, piped)];
    return piped[0];
  }

  private command(text: string, scope: Scope, piped: Value[]): Value {
    const words = splitTop(text, " ");
    const [head, ...rest] = words;
    if (head && /^[a-zA-Z]\w*$/.test(head) && !["true", "false", "nil"].includes(head)) {
      return this.call(head, [...rest.map((w) => this.operand(w, scope)), ...piped]);
    }
    if (words.length !== 1 || piped.length > 0) throw new Error(`not a function call: ${text}`);
    return this.operand(head!, scope);
  }

  private operand(word: string, scope: Scope): Value {
    if (word.startsWith("(") && word.endsWith(")")) return this.pipeline(word.slice(1, -1), scope);
    if (word.startsWith('"')) return JSON.parse(word) as string;
    if (/^-?\d+(\.\d+)?$/.test(word)) return Number(word);
    if (word === "true" || word === "false") return word === "true";
    if (word === "nil") return null;
    if (word === ".") return scope.dot;
    if (word.startsWith(".")) return lookup(scope.dot, word.slice(1).split("."), word);
    if (word === "$" || word.startsWith("$.")) return lookup(scope.root, word.slice(2).split(".").filter(Boolean), word);
    const variable = /^(\$\w+)((?:\.\w+)*)$/.exec(word);
    if (variable) {
      if (!scope.vars.has(variable[1]!)) throw new Error(`undefined variable ${variable[1]}`);
      return lookup(scope.vars.get(variable[1]!), variable[2]!.split(".").filter(Boolean), word);
    }
    throw new Error(`unsupported operand: ${word}`);
  }

  private call(name: string, args: Value[]): Value {
    const arity = (n: number) => {
      if (args.length !== n) throw new Error(`${name} takes ${n} arguments, got ${args.length}`);
    };
    switch (name) {
      case "include": {
        arity(2);
        const nodes = this.defines.get(String(args[0]));
        if (!nodes) throw new Error(`no template named "${String(args[0])}"`);
        // A named template sees only the context it is given; `$` inside it is that context too.
        return this.run(nodes, { dot: args[1], root: args[1], vars: new Map() });
      }
      case "dict": {
        if (args.length % 2 !== 0) throw new Error("dict takes key/value pairs");
        const object: Record<string, Value> = {};
        for (let i = 0; i < args.length; i += 2) object[String(args[i])] = args[i + 1];
        return object;
      }
      case "toYaml":
        arity(1);
        return stringify(args[0]).replace(/\n$/, "");
      case "nindent":
      case "indent": {
        arity(2);
        const pad = " ".repeat(Number(args[0]));
        const indented = String(args[1]).split("\n").map((line) => pad + line).join("\n");
        return name === "nindent" ? `\n${indented}` : indented;
      }
      case "quote":
        arity(1);
        return args[0] === null || args[0] === undefined ? '""' : JSON.stringify(String(args[0]));
      case "default":
        arity(2);
        return truthy(args[1]) ? args[1] : args[0];
      case "required":
        arity(2);
        if (!truthy(args[1])) throw new Error(`required: ${String(args[0])}`);
        return args[1];
      case "printf": {
        const [format, ...values] = args;
        let i = 0;
        return String(format).replace(/%[svd]/g, () => String(values[i++]));
      }
      case "eq":
        arity(2);
        return args[0] === args[1];
      case "not":
        arity(1);
        return !truthy(args[0]);
      case "and":
        return args.every(truthy) ? args.at(-1) : args.find((a) => !truthy(a));
      case "or":
        return args.find(truthy) ?? args.at(-1);
      default:
        throw new Error(`function "${name}" is outside the supported subset`);
    }
  }
}
