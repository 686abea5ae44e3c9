/** A login burst beyond what the hash pool can serve within HASH_QUEUE_MAX_WAIT_MS gets quick 503s, not an endless queue. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PASSWORD } from "../helpers/login.js";
import { postJson, startWarden } from "../helpers/warden.js";

test("logins that could not start hashing in time get 503 with Retry-After and the contract body", async () => {
  const w = await startWarden({ argon2: "real", env: { HASH_QUEUE_MAX_WAIT_MS: "10", TRUST_PROXY: "true" } });
  try {
    await w.createUser("busy@example.com", PASSWORD);
    const burst = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        postJson(
          w.app,
          "/api/auth",
          { email: "busy@example.com", password: PASSWORD },
          { "x-forwarded-for": `203.0.113.${i}` },
        ),
      ),
    );
    const refused = burst.filter((r) => r.status === 503);
    const served = burst.filter((r) => r.status === 200);
    assert.equal(refused.length + served.length, 16, burst.map((r) => r.status).join(","));
    assert.ok(refused.length > 0, "some were refused");
    assert.ok(served.length >= 2, "those that got a slot were served");
    for (const r of refused) {
      assert.equal(r.raw, '{"code":503,"message":"The server is busy. Please try again shortly."}');
      assert.equal(r.headers["retry-after"], "1");
    }
    // Once the burst is over, logins are served again.
    assert.equal(
      (
        await postJson(
          w.app,
          "/api/auth",
          { email: "busy@example.com", password: PASSWORD },
          { "x-forwarded-for": "203.0.113.99" },
        )
      ).status,
      200,
    );
  } finally {
    await w.close();
  }
});

test("while the hash queue is full, a login is refused before anything is done for it: no rate-limit count, no lookup", async () => {
  const w = await startWarden({ env: { LOGIN_RATE_LIMIT: "1/60" } });
  try {
    let lookups = 0;
    const findByEmail = w.deps.users.findByEmail.bind(w.deps.users);
    w.deps.users.findByEmail = async (email) => (lookups++, findByEmail(email));
    Object.defineProperty(w.deps.hasher, "isSaturated", { value: () => true });
    const refused = await postJson(w.app, "/api/auth", { email: "a@example.com", password: "whatever" });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers["retry-after"], "1");
    assert.equal(lookups, 0);
    // The refused attempt was not counted: the one allowed attempt of the minute is still there.
    Object.defineProperty(w.deps.hasher, "isSaturated", { value: () => false });
    assert.equal((await postJson(w.app, "/api/auth", { email: "a@example.com", password: "whatever" })).status, 401);
    assert.equal((await postJson(w.app, "/api/auth", { email: "a@example.com", password: "whatever" })).status, 429);
  } finally {
    await w.close();
  }
});

test("logins still reading their account hold their places in the hash queue: one more is refused at the door, before any lookup", async () => {
  // One slot; a queue of what can start within 10 ms of the real hash's time (one or two places).
  const w = await startWarden({
    argon2: "real",
    env: { HASH_CONCURRENCY: "1", HASH_QUEUE_MAX_WAIT_MS: "10", TRUST_PROXY: "true" },
  });
  try {
    await w.createUser("reading@example.com", PASSWORD);
    let lookups = 0;
    let releaseReads!: () => void;
    const readsHeld = new Promise<void>((resolve) => (releaseReads = resolve));
    const findByEmail = w.deps.users.findByEmail.bind(w.deps.users);
    w.deps.users.findByEmail = async (email) => {
      lookups++;
      await readsHeld;
      return findByEmail(email);
    };
    const login = (i: number) =>
      postJson(
        w.app,
        "/api/auth",
        { email: "reading@example.com", password: PASSWORD },
        { "x-forwarded-for": `203.0.113.${i}` },
      );
    const places = w.deps.hasher.gate.maxQueue + 1; // the free slot and the queue
    const admitted = Array.from({ length: places }, (_, i) => login(i));
    while (lookups < places) await new Promise((resolve) => setTimeout(resolve, 5));

    const tooMany = await Promise.race([
      login(places),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000)),
    ]);
    assert.ok(tooMany, "the login past the queue's places was let in: it waits for the held reads");
    assert.equal(tooMany.status, 503);
    assert.equal(tooMany.headers["retry-after"], "1");
    assert.equal(lookups, places, "the refused login read nothing");

    releaseReads();
    const answers = await Promise.all(admitted);
    assert.equal(answers[0]!.status, 200, "the first admitted login got the slot");
    // The rest queued behind it; one that waited past the 10 ms bound is refused like any other.
    for (const r of answers.slice(1)) assert.ok([200, 503].includes(r.status), `status ${r.status}`);
    assert.equal((await login(99)).status, 200, "with the places given back, logins are served again");
  } finally {
    await w.close();
  }
});
