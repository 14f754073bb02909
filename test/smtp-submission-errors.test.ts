// Every coded error the SMTP edge can meet during submission has a row in its table
// (src/smtp/smtp.errors-map.ts), so that none falls to the catch-all 451 by oversight.
//
// Which codes it can meet is read from the code, not kept by hand: from each startSubmissionServer
// call in src/app/ (the server's own code and the callbacks it is handed: authenticate, accept,
// the trusted networks' workspaces), the TypeScript checker follows every function, method,
// constructor and constant referenced within src/, and collects the defineError factories reached.
// Its limits: it follows references, not conditions (a function that raises a code in one branch
// counts), which can only add codes; and it cannot follow a call through an interface method
// (Store.writeGrouped, Clock.now: a signature without a body), which could miss one. No
// implementation behind those interfaces raises a coded error today; the floor below fails if
// the walk loses its way altogether.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import ts from "typescript";
import { mappedErrorCodes } from "../src/smtp/smtp.errors-map.js";

const SOURCE = resolve(import.meta.dirname, "../../src");
/** src/ as the checker writes file names (always with "/"). */
const SOURCE_PREFIX = `${SOURCE.split(sep).join("/")}/`;

function sourceFiles(dir = SOURCE, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

/** Code → the chain of names by which the walk reached it. */
function codesReachedFromSubmission(): Map<string, string> {
  // Our sources only (noResolve): the walk never leaves src/, so dependencies' types are not needed.
  const program = ts.createProgram(sourceFiles(), {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    types: [],
    noResolve: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const inSource = (node: ts.Node) => node.getSourceFile().fileName.startsWith(SOURCE_PREFIX);
  const codes = new Map<string, string>();
  const visited = new Set<ts.Node>();

  const declarationsOf = (node: ts.Identifier): readonly ts.Declaration[] => {
    const parent = node.parent;
    let symbol =
      ts.isShorthandPropertyAssignment(parent) && parent.name === node ? checker.getShorthandAssignmentValueSymbol(parent) : checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return symbol?.declarations ?? [];
  };

  /** The code a node declares or raises: `X = defineError("CODE", …)`, `new PosthornError("CODE", …)`. */
  const codeOf = (node: ts.Node): string | null => {
    const call = ts.isVariableDeclaration(node) ? node.initializer : node;
    if (!call || !(ts.isCallExpression(call) || ts.isNewExpression(call))) return null;
    const callee = call.expression.getText();
    const first = call.arguments?.[0];
    return (callee === "defineError" || callee === "PosthornError") && first && ts.isStringLiteral(first) ? first.text : null;
  };

  /** What to walk for a declaration that a reference leads to, or null. */
  const bodyOf = (declaration: ts.Declaration, reference: ts.Identifier): ts.Node | null => {
    if (ts.isFunctionDeclaration(declaration) || ts.isMethodDeclaration(declaration) || ts.isAccessor(declaration) || ts.isConstructorDeclaration(declaration)) {
      return declaration.body ?? null;
    }
    if (ts.isVariableDeclaration(declaration) || ts.isPropertyDeclaration(declaration) || ts.isPropertyAssignment(declaration)) return declaration.initializer ?? null;
    // `new X(…)`: the constructor runs, not every method of the class.
    if (ts.isClassDeclaration(declaration) && ts.isNewExpression(reference.parent)) return declaration.members.find(ts.isConstructorDeclaration) ?? null;
    return null;
  };

  const walk = (node: ts.Node, path: string[]): void => {
    const code = codeOf(node);
    if (code !== null && !codes.has(code)) codes.set(code, path.join(" → "));
    if (ts.isIdentifier(node)) {
      for (const declaration of declarationsOf(node)) {
        if (!inSource(declaration)) continue;
        const declared = codeOf(declaration);
        if (declared !== null) {
          if (!codes.has(declared)) codes.set(declared, path.join(" → "));
          continue;
        }
        const body = bodyOf(declaration, node);
        if (body && !visited.has(body)) {
          visited.add(body);
          walk(body, [...path, node.text]);
        }
      }
    }
    ts.forEachChild(node, (child) => walk(child, path));
  };

  const app = program.getSourceFiles().filter((f) => f.fileName.startsWith(`${SOURCE_PREFIX}app/`));
  let starts = 0;
  for (const file of app) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.expression.getText() === "startSubmissionServer") {
        starts += 1;
        walk(node, [file.fileName.slice(SOURCE_PREFIX.length)]);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  assert.ok(starts > 0, "no startSubmissionServer call found in src/app/");
  return codes;
}

test("every coded error the SMTP edge can meet during submission has a row in its table", () => {
  const reached = codesReachedFromSubmission();
  // The floor: what acceptRaw and the stream check are known to raise. Not the list under test.
  for (const code of ["MESSAGE_INVALID", "STREAM_NOT_FOUND"]) assert.ok(reached.has(code), `the walk did not reach ${code}: it lost its way`);
  const mapped = new Set(mappedErrorCodes());
  const unmapped = [...reached].filter(([code]) => !mapped.has(code)).map(([code, path]) => `${code} (via ${path})`);
  assert.deepEqual(unmapped, []);
});
