#!/usr/bin/env node
// The command line, from the build in dist/ (made by `npm install` through `prepare`, or `npm run build`).
import fs from "node:fs";

const entry = new URL("../dist/cli/index.js", import.meta.url);
if (!fs.existsSync(entry)) {
  console.error("warden: dist/ is missing: run `npm run build` in the Warden folder first");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
