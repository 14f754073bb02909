// Finds every log call in the source (src/**/*.ts but tests) by parsing it with TypeScript, so the
// list of event names in docs/operations.md is checked against the code and cannot drift. A log
// call is a call of .trace/.debug/.info/.warn/.error/.fatal on something named `logger` or `log`
// (`logger`, `this.deps.logger`, `options.logger?`, `request.log`, `app.log`, `log`).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export interface LogCall {
  file: string;
  line: number;
  level: string;
  /** The `event` property's string, or null when the first argument has none. */
  event: string | null;
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);
const LOGGER_NAME = /(^|\.)(logger|log)$/;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

export function findLogCalls(root: string): LogCall[] {
  const calls: LogCall[] = [];
  for (const path of sourceFiles(join(root, "src"))) {
    const text = readFileSync(path, "utf8");
    if (!/\b(logger|log)\??\.(trace|debug|info|warn|error|fatal)\(/.test(text)) continue;
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && LEVELS.has(node.expression.name.text)) {
        const receiver = node.expression.expression.getText(source).replace(/\?/g, "");
        if (LOGGER_NAME.test(receiver)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          calls.push({ file: relative(root, path), line: line + 1, level: node.expression.name.text, event: eventOf(node.arguments[0]) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return calls;
}

function eventOf(arg: ts.Expression | undefined): string | null {
  if (!arg || !ts.isObjectLiteralExpression(arg)) return null;
  for (const property of arg.properties) {
    if (ts.isPropertyAssignment(property) && property.name.getText() === "event" && ts.isStringLiteral(property.initializer)) return property.initializer.text;
  }
  return null;
}
