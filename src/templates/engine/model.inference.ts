// Infers the model a template expects, for the validate call's SuggestedTemplateModel, as
// Mustachio does: a value printed is a scalar (suggested as "<name>_Value"), a section scopes
// into an object, {{#each}} expects a list (suggested with one element), and `../` reaches the
// enclosing scope. Several parts (subject, bodies, a layout) add to one model.
import type { Node, Path } from "./template.ast.js";

interface Shape {
  name: string;
  fields: Map<string, Shape>;
  /** Set by {{#each}}: the shape of one element. */
  item: Shape | null;
  /** Printed itself ({{ x }}), so a scalar unless it also has fields. */
  printed: boolean;
}

const newShape = (name: string): Shape => ({ name, fields: new Map(), item: null, printed: false });

export class ModelInference {
  private readonly root = newShape("model");

  add(nodes: Node[]): this {
    this.walk(nodes, [this.root]);
    return this;
  }

  /** The suggestion as JSON data. */
  model(): Record<string, unknown> {
    const value = toValue(this.root);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  }

  private walk(nodes: Node[], scopes: Shape[]): void {
    for (const node of nodes) {
      if (node.kind === "text") continue;
      const shape = resolve(node.path, scopes);
      if (!shape) continue;
      if (node.kind === "value") {
        shape.printed = true;
        continue;
      }
      if (node.type === "each") {
        shape.item ??= newShape(shape.name);
        this.walk(node.children, [...scopes, shape.item]);
      } else if (node.type === "section") {
        this.walk(node.children, [...scopes, shape]);
      } else {
        // if and inverted keep the scope; the value itself is only tested.
        this.walk(node.children, scopes);
      }
      this.walk(node.otherwise, scopes);
    }
  }
}

function resolve(path: Path, scopes: Shape[]): Shape | null {
  if (path.slot) return null;
  const start = scopes[scopes.length - 1 - path.up];
  if (!start) return null;
  let shape: Shape = start;
  for (const name of path.names) {
    let next: Shape | undefined = shape.fields.get(name);
    if (!next) {
      next = newShape(name);
      shape.fields.set(name, next);
    }
    shape = next;
  }
  return shape;
}

function toValue(shape: Shape): unknown {
  if (shape.item) return [toValue(shape.item)];
  if (shape.fields.size > 0) return Object.fromEntries([...shape.fields].map(([name, s]) => [name, toValue(s)]));
  return `${shape.name}_Value`;
}
