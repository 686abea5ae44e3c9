/** Configuration: every bad variable stops the start with one line naming it. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { hashesInFlightFor, threadPoolSizeFor } from "../../src/thread-pool.cjs";
import { resolveSecret } from "../../src/deps.js";
import { createLogger } from "../../src/log.js";
import { run, scratchEnv } from "../helpers/process.js";

const bad: Record<string, string> = {
  PORT: "abc",
  DATABASE_URL: "mysql://localhost/warden",
  REDIS_URL: "http://localhost:6379",
  TRUST_PROXY: "my-load-balancer",
  APP_URL: "not a url",
  PUBLIC_URL: "ftp://warden.example",
  WARDEN_SECRET: "too-short",
  ACCESS_TOKEN_TTL: "-5",
  REFRESH_TOKEN_TTL: "1.5",
  REQUIRE_EMAIL_CONFIRMATION: "maybe",
  LOGIN_RATE_LIMIT: "5 per minute",
  ACCOUNT_FAILURE_LIMIT: "0/3600",
  HASH_QUEUE_MAX_WAIT_MS: "1",
  HASH_CONCURRENCY: "0",
  WORKERS: "0",
  LOG_LEVEL: "loud",
  SMTP_URL: "mail.example.com",
  COUNTER_PREFIX: "has spaces",
};

test("defaults: the contract's table", () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.HOST, "127.0.0.1");
  assert.equal(config.DATABASE_URL, "sqlite:./data/warden.db");
  assert.equal(config.databaseKind, "sqlite");
  assert.equal(config.REDIS_URL, undefined);
  assert.equal(config.TRUST_PROXY, false);
  assert.equal(config.PUBLIC_URL, "http://localhost:3000");
  assert.equal(config.APP_URL, "http://localhost:3000");
  assert.equal(config.issuer, "http://localhost:3000");
  assert.equal(config.ACCESS_TOKEN_TTL, 3600);
  assert.equal(config.REFRESH_TOKEN_TTL, 2_592_000);
  assert.equal(config.MFA_CHALLENGE_TTL, 300);
  assert.equal(config.REQUIRE_EMAIL_CONFIRMATION, true);
  assert.deepEqual(config.LOGIN_RATE_LIMIT, { points: 5, durationSeconds: 60 });
  assert.deepEqual(config.ACCOUNT_FAILURE_LIMIT, { points: 100, durationSeconds: 3600 });
  assert.equal(loadConfig({ HOST: "" }).HOST, "127.0.0.1", "an empty variable means unset");
});

test("values are parsed: postgres URL, TRUST_PROXY forms, rate rules, booleans", () => {
  const config = loadConfig({
    DATABASE_URL: "postgres://u@h/db",
    TRUST_PROXY: "10.0.0.0/8, 192.168.1.1",
    LOGIN_RATE_LIMIT: "10/30",
    REQUIRE_EMAIL_CONFIRMATION: "false",
  });
  assert.equal(config.databaseKind, "postgres");
  assert.deepEqual(config.TRUST_PROXY, ["10.0.0.0/8", "192.168.1.1"]);
  assert.deepEqual(config.LOGIN_RATE_LIMIT, { points: 10, durationSeconds: 30 });
  assert.equal(config.REQUIRE_EMAIL_CONFIRMATION, false);
  assert.equal(loadConfig({ TRUST_PROXY: "true" }).TRUST_PROXY, true);
  assert.equal(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY, 2);
});

test("WORKERS=auto: one process per core on PostgreSQL, one on SQLite; a number is obeyed on both", () => {
  const postgres = "postgres://u@h/db";
  assert.equal(loadConfig({ WORKERS: "auto", DATABASE_URL: postgres }).WORKERS, os.availableParallelism());
  assert.equal(loadConfig({ WORKERS: "auto" }).WORKERS, 1);
  assert.equal(loadConfig({ WORKERS: "auto", DATABASE_URL: "sqlite:/tmp/w.db" }).WORKERS, 1);
  assert.equal(loadConfig({ WORKERS: "2" }).WORKERS, 2);
  assert.equal(loadConfig({ WORKERS: "3", DATABASE_URL: postgres }).WORKERS, 3);
  assert.equal(loadConfig({}).WORKERS, 1);
  assert.equal(loadConfig({}).HASH_CONCURRENCY, undefined, "unset: one hash per core (hashSlotsFor)");
  assert.equal(loadConfig({ HASH_CONCURRENCY: "6" }).HASH_CONCURRENCY, 6);
});

test("libuv's thread pool gets the process's hash slots, unless UV_THREADPOOL_SIZE is set", () => {
  const cores = os.availableParallelism();
  const postgres = "postgres://u@h/db";
  assert.equal(threadPoolSizeFor({}), cores, "one process: one hash per core");
  assert.equal(threadPoolSizeFor({ HASH_CONCURRENCY: "3" }), 3);
  assert.equal(threadPoolSizeFor({ WORKERS: "2" }), Math.max(1, Math.floor(cores / 2)), "each worker its share");
  assert.equal(threadPoolSizeFor({ WORKERS: "auto", DATABASE_URL: postgres }), 1, "a worker per core: one each");
  assert.equal(threadPoolSizeFor({ WORKERS: "auto", DATABASE_URL: "sqlite:/tmp/w.db" }), cores, "one process");
  assert.equal(threadPoolSizeFor({ WORKERS: "2", HASH_CONCURRENCY: "5" }), 5, "HASH_CONCURRENCY is per process");
  assert.equal(threadPoolSizeFor({ HASH_CONCURRENCY: "lots" }), cores, "left for loadConfig to refuse");
  assert.equal(threadPoolSizeFor({ UV_THREADPOOL_SIZE: "16", HASH_CONCURRENCY: "3" }), null, "the operator's choice");
});

test("one hash waits in libuv's queue beyond the slots only when the pool has exactly the slots' threads", () => {
  assert.equal(
    hashesInFlightFor(2, { UV_THREADPOOL_SIZE: "2" }),
    3,
    "npm start's pool: a thread never idles for the event loop",
  );
  assert.equal(hashesInFlightFor(1, { UV_THREADPOOL_SIZE: "1" }), 2);
  assert.equal(hashesInFlightFor(2, {}), 2, "libuv's default pool of four would run a third hash at once");
  assert.equal(hashesInFlightFor(2, { UV_THREADPOOL_SIZE: "8" }), 2, "a larger pool: only the slots");
  assert.equal(hashesInFlightFor(3, { UV_THREADPOOL_SIZE: "2" }), 3, "a smaller pool queues in libuv already");
});

test("PUBLIC_URL is Warden's own address; APP_URL (mail links) defaults to it; JWT_ISSUER overrides iss", () => {
  assert.equal(loadConfig({ PORT: "8080" }).PUBLIC_URL, "http://localhost:8080", "the default follows PORT");
  const own = loadConfig({ PUBLIC_URL: "https://auth.example.com/" });
  assert.equal(own.PUBLIC_URL, "https://auth.example.com", "no trailing slash");
  assert.equal(own.APP_URL, "https://auth.example.com");
  assert.equal(own.issuer, "https://auth.example.com");
  const split = loadConfig({ PUBLIC_URL: "https://auth.example.com", APP_URL: "https://app.example.com" });
  assert.equal(split.APP_URL, "https://app.example.com");
  assert.equal(split.issuer, "https://auth.example.com", "the app's address never becomes the issuer");
  assert.equal(loadConfig({ PUBLIC_URL: "https://auth.example.com", JWT_ISSUER: "urn:warden" }).issuer, "urn:warden");
});

for (const [name, value] of Object.entries(bad)) {
  test(`${name}=${JSON.stringify(value)} is refused with one problem naming ${name}`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.length === 1 && error.problems[0]!.startsWith(`${name}: `),
    );
  });
}

test("several bad variables: one problem each", () => {
  assert.throws(
    () => loadConfig({ PORT: "abc", LOG_LEVEL: "loud", WORKERS: "0" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems
        .map((p) => p.split(":")[0])
        .sort()
        .join() === "LOG_LEVEL,PORT,WORKERS",
  );
});

test("the server refuses to start: exit code 78 and one stderr line per bad variable", async () => {
  const scratch = scratchEnv();
  try {
    const r = await run(process.execPath, ["dist/main.js"], {
      env: { ...scratch.env, PORT: "abc", LOGIN_RATE_LIMIT: "lots" },
    });
    assert.equal(r.code, 78, `exit code and stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(r.stderr, /^warden: invalid configuration: PORT: /m);
    assert.match(r.stderr, /^warden: invalid configuration: LOGIN_RATE_LIMIT: expected <count>\/<seconds>/m);
  } finally {
    scratch.cleanup();
  }
});

test("without WARDEN_SECRET a secret is generated into DATA_DIR once, with a warning, and reused", () => {
  const scratch = scratchEnv();
  try {
    const config = loadConfig({ DATA_DIR: scratch.env.DATA_DIR });
    const lines: string[] = [];
    const log = createLogger("warn", { write: (line: string) => lines.push(line) });
    const secret = resolveSecret(config, log);
    assert.ok(secret.length >= 32);
    const file = path.join(scratch.env.DATA_DIR!, "secret");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(lines.join(""), /WARDEN_SECRET is not set/);
    assert.equal(resolveSecret(config, log), secret, "the next start uses the same one");
    assert.equal(
      resolveSecret(loadConfig({ DATA_DIR: scratch.env.DATA_DIR, WARDEN_SECRET: "x".repeat(32) }), log),
      "x".repeat(32),
    );
  } finally {
    scratch.cleanup();
  }
});
