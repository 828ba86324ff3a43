// Fails when hand-written TypeScript (src/index.ts, test/) uses a cast: `as` (`as const` aside), `<T>value`,
// a non-null assertion `value!`, the `any` type, or a @ts-ignore/@ts-expect-error/@ts-nocheck comment. The point of the
// package is that the generated types alone carry a caller through the API; a cast would hide where they do not.
// Files given as arguments are scanned instead (the test suite checks the scan itself that way).
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const root = new URL("..", import.meta.url).pathname;
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : ["src/index.ts", ...readdirSync(join(root, "test")).filter((f) => f.endsWith(".ts")).map((f) => `test/${f}`)];
const findings = [];

for (const file of files) {
  const path = resolve(root, file);
  const text = readFileSync(path, "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const report = (node, what) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    findings.push(`${relative(root, path)}:${line + 1}:${character + 1}: ${what}: ${node.getText(source).slice(0, 80)}`);
  };
  const visit = (node) => {
    if (ts.isAsExpression(node) && !(ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(source) === "const")) report(node, "cast (as)");
    else if (ts.isTypeAssertionExpression(node)) report(node, "cast (<T>)");
    else if (ts.isNonNullExpression(node)) report(node, "non-null assertion (!)");
    else if (node.kind === ts.SyntaxKind.AnyKeyword) report(node, "any");
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const match of text.matchAll(/@ts-(ignore|expect-error|nocheck)/g)) {
    const { line } = source.getLineAndCharacterOfPosition(match.index);
    findings.push(`${relative(root, path)}:${line + 1}: ${match[0]} comment`);
  }
}

if (findings.length > 0) {
  console.error(`No casts allowed (${findings.length}):\n${findings.join("\n")}`);
  process.exit(1);
}
console.log(`no casts in ${files.length} files`);
