#!/usr/bin/env node
/**
 * `npm run build` (and npm's `prepare`, so `npm install` builds): compiles src/ to dist/ with tsc
 * and copies the files that are not TypeScript (page templates, CSS, images) beside them, so
 * `node dist/main.js` runs without a compiler in the process. Then the browser SDK (sdk/ to
 * sdk/dist/warden.js and .d.ts), so every test run uses a fresh build of it.
 *
 * Under `npm ci --omit=dev` there is no TypeScript: an existing dist/ is kept (build it before
 * pruning dev dependencies); without one the install fails, naming the fix.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);

let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc");
} catch {
  if (fs.existsSync(path.join(root, "dist/main.js"))) {
    console.log("warden build: TypeScript is not installed (production install); keeping the existing dist/");
    process.exit(0);
  }
  console.error(
    "warden build: dist/ is missing and TypeScript is not installed: run `npm ci && npm run build` first, then prune dev dependencies",
  );
  process.exit(1);
}

fs.rmSync(path.join(root, "dist"), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);

const src = path.join(root, "src");
for (const file of fs.readdirSync(src, { recursive: true, encoding: "utf8" })) {
  const from = path.join(src, file);
  if (file.endsWith(".ts") || fs.statSync(from).isDirectory()) continue;
  const to = path.join(root, "dist", file);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

fs.rmSync(path.join(root, "sdk/dist"), { recursive: true, force: true });
const sdk = spawnSync(process.execPath, [tsc, "-p", path.join(root, "sdk/tsconfig.json")], { stdio: "inherit" });
if (sdk.status !== 0) process.exit(sdk.status ?? 1);
