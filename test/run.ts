/**
 * `npm test`: every *.test.ts under test/ through node's test runner (Node 20 has no glob for
 * --test). In CI the PostgreSQL and Redis halves must run: missing URLs fail the run here.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CHROMIUM_PATH } from "./browser/chromium.js";

const root = path.resolve(import.meta.dirname);
const files = fs
  .readdirSync(root, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => path.join(root, f))
  .sort();

const ci = process.env.CI === "true" || process.env.CI === "1";
const missing = ["TEST_DATABASE_URL", "TEST_REDIS_URL"].filter((name) => !process.env[name]);
if (missing.length > 0) {
  const message = `${missing.join(" and ")} not set: the PostgreSQL/Redis tests would skip`;
  if (ci) {
    console.error(`test/run: ${message}; refusing to run in CI`);
    process.exit(1);
  }
  console.warn(`test/run: ${message} (set them to run every test; CI does)`);
}

// Tests that spawn the server or the CLI run the build, as an operator does: compile it first.
const build = spawnSync(process.execPath, [path.join(root, "../scripts/build.mjs")], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const filter = process.argv.slice(2);
let selected = filter.length ? files.filter((f) => filter.some((part) => f.includes(part))) : files;

// Without Chromium the browser tests cannot run at all (and a failed launch left their servers
// open, hanging the run): CI refuses, as for the databases; elsewhere they are left out, loudly.
const browserTests = selected.filter((f) => f.startsWith(path.join(root, "browser") + path.sep));
if (browserTests.length > 0 && !fs.existsSync(CHROMIUM_PATH)) {
  const message = `${CHROMIUM_PATH} not found (apt-get install chromium): ${browserTests.length} browser test files cannot run`;
  if (ci) {
    console.error(`test/run: ${message}; refusing to run in CI`);
    process.exit(1);
  }
  console.warn(`test/run: ${message}; leaving them out`);
  selected = selected.filter((f) => !browserTests.includes(f));
}

// --test-force-exit: a file whose tests are over exits even if a failed test left a server open.
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-force-exit", ...selected],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
