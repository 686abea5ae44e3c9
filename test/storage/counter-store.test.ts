/** CounterStore contract on memory, SQLite, PostgreSQL and Redis: the shared counts behind every rate limit. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { createCounters, type CounterBackend, type Counters } from "../../src/storage/counters.js";
import { openDatabase } from "../../src/storage/database.js";
import { openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { postgresEngine, redisUrl, skipReason } from "../helpers/engines.js";

interface Backend {
  name: string;
  skip?: string;
  /** Two handles on the same counters (two processes of a cluster), and a cleanup. */
  open(): Promise<{ a: Counters; b: Counters; close(): Promise<void> }>;
}

const prefix = () => `ct${crypto.randomBytes(4).toString("hex")}`;

const backends: Backend[] = [
  {
    name: "memory",
    async open() {
      const a = await createCounters({ kind: "memory", prefix: prefix() });
      return { a, b: a, close: () => a.close() };
    },
  },
  {
    name: "sqlite",
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-counters-"));
      // Two connections to one file, as two worker processes have.
      const url = `sqlite:${path.join(dir, "warden.db")}`;
      const [one, two] = [openDatabase(url), openDatabase(url)];
      const a = await createCounters({ kind: "sqlite", db: one.db });
      const b = await createCounters({ kind: "sqlite", db: two.db });
      return {
        a,
        b,
        close: async () => {
          await one.close();
          await two.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    skip: skipReason("postgres"),
    async open() {
      const t: TestDatabase = await openTestDatabase(postgresEngine);
      const other = openDatabase(t.url);
      const a = await createCounters({ kind: "postgres", pool: t.database.pgPool! });
      const b = await createCounters({ kind: "postgres", pool: other.pgPool! });
      return {
        a,
        b,
        close: async () => {
          await a.close();
          await b.close();
          await other.close();
          await t.close();
        },
      };
    },
  },
  {
    name: "redis",
    skip: skipReason("redis"),
    async open() {
      const shared = prefix();
      const a = await createCounters({ kind: "redis", url: redisUrl()!, prefix: shared });
      const b = await createCounters({ kind: "redis", url: redisUrl()!, prefix: shared });
      return {
        a,
        b,
        close: async () => {
          await a.close();
          await b.close();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`CounterStore on ${backend.name}`, { skip: backend.skip }, () => {
    let handles: Awaited<ReturnType<Backend["open"]>> | undefined;
    const open = async () => (handles ??= await backend.open());
    after(async () => handles?.close());

    test("an absent counter reads 0; increment returns the new value; get reads it", async () => {
      const { a } = await open();
      assert.equal(await a.get("absent", 60), 0);
      assert.equal(await a.increment("k1", 1, 60), 1);
      assert.equal(await a.increment("k1", 2, 60), 3);
      assert.equal(await a.get("k1", 60), 3);
    });

    test("a negative amount takes back", async () => {
      const { a } = await open();
      await a.increment("k2", 3, 60);
      assert.equal(await a.increment("k2", -1, 60), 2);
      assert.equal(await a.get("k2", 60), 2);
    });

    test("counters are apart by key", async () => {
      const { a } = await open();
      await a.increment("k3", 1, 60);
      assert.equal(await a.get("k3-other", 60), 0);
    });

    test("two handles see one count, and concurrent increments sum exactly", async () => {
      const { a, b } = await open();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment("race", 1, 60)));
      assert.equal(await a.get("race", 60), 40);
      assert.equal(await b.get("race", 60), 40);
      assert.deepEqual(
        [...results].sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
        "every caller saw a distinct value",
      );
    });
  });
}

test("sqlite: a counter written while the app holds a write transaction waits for it, never 'database is locked'", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-counters-"));
  const database = openDatabase(`sqlite:${path.join(dir, "warden.db")}`);
  try {
    const counters = await createCounters({ kind: "sqlite", db: database.db });
    let incremented: Promise<number> | undefined;
    await database.db.transaction().execute(async () => {
      // A rate-limited request arrives while another request's transaction awaits real I/O.
      incremented = counters.increment("login:k", 1, 60);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    assert.equal(await incremented, 1);
  } finally {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
