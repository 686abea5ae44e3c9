#!/usr/bin/env node
/**
 * `npm run build` (and npm's `prepare`, so `npm install` builds): compiles src/ to dist/ with tsc
 * and copies the files that are not TypeScript (page templates, CSS, images) beside them, so
 * `node dist/main.js` runs without a compiler in the process. Then the browser SDK (sdk/ to
 * sdk/dist/warden.js and .d.ts).
 *
 * A build whose inputs (src/, sdk/src/, the tsconfig files, package.json, this script) are
 * unchanged since the last one is skipped: `npx warden` installs the project into npx's cache and
 * so runs `prepare` again, and test/run.ts builds before every run. A real build compiles into a
 * scratch folder and swaps it in, so a server or CLI started meanwhile never finds dist/ missing
 * or half-written.
 *
 * Under `npm ci --omit=dev` there is no TypeScript: an existing dist/ is kept (build it before
 * pruning dev dependencies); without one the install fails, naming the fix.
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const STAMP = ".build-inputs";

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

const inputs = fingerprint([
  "src",
  "sdk/src",
  "tsconfig.json",
  "tsconfig.build.json",
  "sdk/tsconfig.json",
  "package.json",
  "scripts/build.mjs",
]);
const built = (dir) => {
  try {
    return fs.readFileSync(path.join(root, dir, STAMP), "utf8") === inputs;
  } catch {
    return false;
  }
};
if (built("dist") && built("sdk/dist")) process.exit(0);

compile("dist", "tsconfig.build.json", (out) => {
  const src = path.join(root, "src");
  for (const file of fs.readdirSync(src, { recursive: true, encoding: "utf8" })) {
    const from = path.join(src, file);
    if (/\.c?ts$/.test(file) || fs.statSync(from).isDirectory()) continue;
    const to = path.join(out, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
  bundleServer(out);
});
compile("sdk/dist", "sdk/tsconfig.json", () => {});

/**
 * The server (dist/main.js) as one file with the packages it loads at start, so a start reads
 * one module instead of ~700 (issue 14: first answer under a second; measured on a fresh
 * database: ~290 ms less CPU, ~35% of the start). The rest of dist/ stays as tsc wrote it (the
 * CLI runs from it). Left outside: native addons, packages loaded on first use (lazy(),
 * createRequire), and packages that read files beside their code (__dirname). The modules
 * main.ts imports dynamically become chunks beside it, so a cluster primary still loads no app
 * code. Files beside the code are found from src/paths.ts, which stays at dist/'s top.
 */
function bundleServer(out) {
  const esbuild = require("esbuild");
  esbuild.buildSync({
    entryPoints: [path.join(out, "main.js")],
    outdir: out,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    chunkNames: "main-[name]-[hash]",
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
    // Bundled CommonJS packages still require() the packages left outside.
    banner: {
      js: 'import { createRequire as __wardenRequire } from "node:module"; const require = __wardenRequire(import.meta.url);',
    },
    external: [
      "better-sqlite3",
      "@node-rs/*",
      "pg",
      "pg-native",
      "ioredis",
      "nodemailer",
      "rate-limiter-flexible",
      "@zxcvbn-ts/*",
      "qrcode",
      "@simplewebauthn/*",
      "@fastify/static",
      "@fastify/swagger",
      "@fastify/swagger-ui",
      "@fastify/ajv-compiler",
      "@fastify/fast-json-stringify-compiler",
    ],
  });
  keepOneByte(out);
}

/**
 * V8 keeps a script's source as long as the script lives, one byte per character unless a single
 * character is above U+00FF, and then two bytes for all of it. esbuild already writes strings,
 * regular expressions and names as ASCII escapes, so what is left above U+00FF can only be in
 * comments it kept (zod has one em dash in a comment): rewrite those as `\uXXXX` text, which
 * changes no code.
 */
function keepOneByte(out) {
  for (const file of fs.readdirSync(out)) {
    if (!/^main.*\.js$/.test(file)) continue;
    const full = path.join(out, file);
    const text = fs.readFileSync(full, "utf8");
    // Per UTF-16 unit (no `u` flag), so a character beyond U+FFFF becomes its surrogate pair.
    const ascii = text.replace(/[^\u0000-\u00ff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`);
    if (ascii !== text) fs.writeFileSync(full, ascii);
  }
}

/** tsc into `<target>.building-<pid>`, then rename over `target`, the stamp written last. */
function compile(target, project, finish) {
  const final = path.join(root, target);
  const scratch = `${final}.building-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, project), "--outDir", scratch], {
    stdio: "inherit",
  });
  if (result.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    process.exit(result.status ?? 1);
  }
  finish(scratch);
  fs.writeFileSync(path.join(scratch, STAMP), inputs);
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(scratch, final);
  fs.rmSync(old, { recursive: true, force: true });
}

/** SHA-256 over the relative path and content of every file under `entries`, in a stable order. */
function fingerprint(entries) {
  const hash = crypto.createHash("sha256");
  const files = entries.flatMap((entry) => {
    const full = path.join(root, entry);
    if (!fs.existsSync(full)) return [];
    if (!fs.statSync(full).isDirectory()) return [entry];
    return fs
      .readdirSync(full, { recursive: true, encoding: "utf8" })
      .map((file) => path.join(entry, file))
      .filter((file) => fs.statSync(path.join(root, file)).isFile());
  });
  for (const file of files.sort())
    hash
      .update(`${file}\0`)
      .update(fs.readFileSync(path.join(root, file)))
      .update("\0");
  return hash.digest("hex");
}
