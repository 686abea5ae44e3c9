/** Two Warden instances on real sockets, sharing one PostgreSQL database and one Redis: one limit for both. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { PASSWORD } from "../helpers/login.js";
import { postgresEngine, redisUrl, skipReason } from "../helpers/engines.js";
import { startWarden } from "../helpers/warden.js";

const skip = skipReason("postgres") ?? skipReason("redis");

test("the 6th login from one IP, spread over two instances, gets 429", { skip }, async () => {
  const database = await postgresEngine.create();
  const env = { REDIS_URL: redisUrl()!, COUNTER_PREFIX: `cluster${crypto.randomBytes(4).toString("hex")}` };
  const a = await startWarden({ databaseUrl: database.url, env });
  const b = await startWarden({ databaseUrl: database.url, env });
  try {
    await a.createUser("shared@example.com", PASSWORD);
    assert.equal(b.deps.keys.signer().kid, a.deps.keys.signer().kid, "both sign with the one key in the database");
    const urls = [
      await a.app.listen({ port: 0, host: "127.0.0.1" }),
      await b.app.listen({ port: 0, host: "127.0.0.1" }),
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${urls[i % 2]}/api/auth`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "shared@example.com", password: i === 2 ? PASSWORD : "wrong" }),
      });
      statuses.push(response.status);
      if (i === 5) assert.ok(response.headers.get("retry-after"));
    }
    assert.deepEqual(statuses, [401, 401, 200, 401, 401, 429]);
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});
