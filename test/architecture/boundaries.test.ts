/**
 * The domain is the part every other module builds on: it may import only itself and packages.
 * A file under src/domain/ that reaches into http/, storage/, mail/, cli/, hashing/ or config.ts
 * fails this test, naming the file and the import.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

const src = path.resolve(import.meta.dirname, "../../src");
const domain = path.join(src, "domain");
const importPattern = /(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;

function domainFiles(): string[] {
  return fs
    .readdirSync(domain, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(domain, f));
}

test("src/domain imports nothing outside src/domain", () => {
  const violations: string[] = [];
  for (const file of domainFiles()) {
    for (const match of fs.readFileSync(file, "utf8").matchAll(importPattern)) {
      const target = path.resolve(path.dirname(file), match[1]);
      if (!target.startsWith(domain + path.sep)) violations.push(`${path.relative(src, file)} imports ${match[1]}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("the check sees a forbidden import", () => {
  // Guards the pattern itself: a regex that matched nothing would pass the test above forever.
  const line = 'import type { Config } from "../config.js";';
  assert.equal([...line.matchAll(importPattern)].length, 1);
});
