/** Start-up and CLI errors name the variable at fault in plain words, and the CLI never invents a database. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { postgresUrl, skipReason } from "../helpers/engines.js";
import { freePort, ROOT, run } from "../helpers/process.js";

const warden = path.join(ROOT, "bin/warden.mjs");
const server = path.join(ROOT, "dist/main.js");

test("the CLI run in a folder without the database refuses, names the path, and creates nothing there", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-cwd-"));
  try {
    const r = await run(process.execPath, [warden, "user", "deactivate", "--email", "a@example.com"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^warden: DATABASE_URL: no database at ${path.join(dir, "data/warden.db")}`));
    assert.deepEqual(fs.readdirSync(dir), [], "no data/ folder, database or secret was created");
    const migrate = await run(process.execPath, [warden, "migrate"], { cwd: dir, env: { LOG_LEVEL: "silent" } });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.ok(fs.existsSync(path.join(dir, "data/warden.db")), "migrate is the one command that creates it");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a PostgreSQL port nobody listens on: the server exits 1 naming DATABASE_URL and the address", async () => {
  const port = await freePort();
  const r = await run(process.execPath, [server], {
    env: { DATABASE_URL: `postgres://warden:hunter2@127.0.0.1:${port}/warden`, LOG_LEVEL: "silent" },
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`DATABASE_URL: nothing accepts connections at 127\\.0\\.0\\.1:${port}/warden`));
  assert.doesNotMatch(r.stderr, /hunter2/, "the password is never printed");
});

test(
  "a PostgreSQL database that does not exist: the CLI names DATABASE_URL",
  { skip: skipReason("postgres") },
  async () => {
    const url = new URL(postgresUrl()!);
    url.pathname = "/warden_does_not_exist";
    const r = await run(process.execPath, [warden, "keys", "list"], { env: { DATABASE_URL: url.toString() } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^warden: DATABASE_URL: the database .*\/warden_does_not_exist does not exist/m);
  },
);

test("configuration problems are plain words with the value given, never a secret's value", () => {
  assert.throws(
    () => loadConfig({ PORT: "abc", LOG_LEVEL: "loud", WARDEN_SECRET: "short-secret", HASH_QUEUE_MAX_WAIT_MS: "5" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.sort(), [
        'HASH_QUEUE_MAX_WAIT_MS: must be 10 or more, got "5"',
        'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        'PORT: expected a number, got "abc"',
        "WARDEN_SECRET: must be at least 32 characters long",
      ]);
      return true;
    },
  );
});
