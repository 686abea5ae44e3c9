/**
 * Fault: Redis unreachable, under load or from the start. Warden falls back to per-instance
 * counters (and says so once in its JSON log), /readyz reports Redis, and limits are shared
 * again once it is back. The Redis here is the test's own redis-server on a free port.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { test } from "node:test";
import { Redis } from "ioredis";
import { postgresEngine, skipReason } from "../helpers/engines.js";
import { freePort } from "../helpers/process.js";
import { postJson, startWarden, type Warden } from "../helpers/warden.js";
import { scrapeSum } from "../metrics/prometheus-text.js";

const skip = skipReason("postgres") ?? skipReason("redis");
const PASSWORD = "correct horse battery";

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const client = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  for (let i = 0; ; i++) {
    try {
      await client.connect().catch(() => {});
      if ((await client.ping()) === "PONG") break;
    } catch {
      if (i > 100) throw new Error("redis-server did not start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  client.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const attempt = (w: Warden, ip: string, password = "wrong") =>
  postJson(w.app, "/api/auth", { email: "user@example.com", password }, {}, { remoteAddress: ip });

/** Console output while `run` runs: ioredis writes "[ioredis] Unhandled error event" there when nobody listens. */
async function captureConsole<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = { error: console.error, warn: console.warn, log: console.log };
  for (const name of ["error", "warn", "log"] as const)
    console[name] = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    return { result: await run(), lines };
  } finally {
    Object.assign(console, original);
  }
}

const fallbackLines = (w: Warden) => w.logLines.filter((l) => l.includes("Redis unreachable"));

test(
  "redis shut down under load: no 500, per-instance limits with one JSON log line, /readyz 503, then shared limits again within seconds",
  { skip },
  async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const created = await postgresEngine.create();
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, COUNTER_PREFIX: `outage${process.pid}` };
    const instances: Warden[] = [];
    try {
      const { result: statuses, lines } = await captureConsole(async () => {
        instances.push(await startWarden({ databaseUrl: created.url, env }));
        instances.push(await startWarden({ databaseUrl: created.url, env }));
        const [a, b] = instances as [Warden, Warden];
        await a.createUser("user@example.com", PASSWORD);

        // Shared: five attempts from one address spread over both instances, the sixth refused.
        const shared = [];
        for (let i = 0; i < 6; i++) shared.push((await attempt(i % 2 ? b : a, "198.51.100.1")).status);
        assert.deepEqual(shared, [401, 401, 401, 401, 401, 429]);

        // Load on both instances while Redis dies.
        const load = Array.from({ length: 40 }, (_, i) =>
          attempt(i % 2 ? b : a, `203.0.113.${i % 20}`, i % 3 ? "wrong" : PASSWORD),
        );
        await stopRedis(redis);
        const answered = (await Promise.all(load)).map((r) => r.status);
        for (let i = 0; i < 10; i++) answered.push((await attempt(a, `192.0.2.${i}`)).status);
        return answered;
      });
      const [a, b] = instances as [Warden, Warden];
      assert.deepEqual(
        [...new Set(statuses)].filter((s) => ![200, 401, 429].includes(s)),
        [],
        `statuses ${statuses}`,
      );
      assert.deepEqual(
        lines.filter((l) => /ioredis|ECONNREFUSED/i.test(l)),
        [],
        "no plain-text ioredis lines",
      );
      for (const w of instances) {
        assert.equal(fallbackLines(w).length, 1, "the fallback is logged once per instance");
        assert.ok(
          w.logLines.every((l) => l.startsWith("{")),
          "every log line is JSON",
        );
        const ready = await w.app.inject({ url: "/readyz" });
        assert.equal(ready.statusCode, 503);
        assert.deepEqual([ready.json().database, ready.json().redis], ["ok", "unavailable"]);
      }

      // Down: each instance counts on its own.
      const perInstance = [];
      for (let i = 0; i < 6; i++) perInstance.push((await attempt(a, "198.51.100.2")).status);
      assert.deepEqual(perInstance, [401, 401, 401, 401, 401, 429]);
      assert.equal((await attempt(b, "198.51.100.2")).status, 401, "B has its own count while Redis is down");
      assert.equal((await attempt(a, "198.51.100.3", PASSWORD)).status, 200, "logins keep working");

      // Back: shared again within seconds.
      redis = await startRedis(port);
      for (const w of instances)
        await until("/readyz 200 again", async () => (await w.app.inject({ url: "/readyz" })).statusCode === 200);
      const again = [];
      for (let i = 0; i < 6; i++) again.push((await attempt(i % 2 ? b : a, "198.51.100.4")).status);
      assert.deepEqual(again, [401, 401, 401, 401, 401, 429], "limits are shared again");
      for (const w of instances)
        assert.equal(w.logLines.filter((l) => l.includes("Redis is reachable again")).length, 1);
    } finally {
      for (const w of instances.reverse()) await w.close();
      await stopRedis(redis);
      await created.drop();
    }
  },
);

test(
  "redis never reachable at start: Warden starts, logins work with per-instance limits, /readyz says why",
  { skip },
  async () => {
    const port = await freePort(); // nothing listens here
    const { result: w, lines } = await captureConsole(async () => {
      const w = await startWarden({ engine: postgresEngine, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
      await w.createUser("user@example.com", PASSWORD);
      return w;
    });
    try {
      assert.equal((await attempt(w, "198.51.100.9", PASSWORD)).status, 200);
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await attempt(w, "198.51.100.9")).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 429], "the per-instance limit still holds");
      const ready = await w.app.inject({ url: "/readyz" });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().redis, "unavailable");
      assert.equal(fallbackLines(w).length, 1);
      // Each count the per-instance fallback answered is a Redis error an operator can alert on.
      assert.ok((await scrapeSum(w.app, "warden_redis_errors_total")) >= 6);
      assert.equal(await scrapeSum(w.app, "warden_database_errors_total"), 0, "the database was never at fault");
      assert.deepEqual(
        lines.filter((l) => /ioredis|ECONNREFUSED/i.test(l)),
        [],
      );
    } finally {
      await w.close();
    }
  },
);
