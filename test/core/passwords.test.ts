/** Password hashing: argon2id at OWASP parameters, and legacy Symfony hashes that log in and are upgraded. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as argon2 from "@node-rs/argon2";
import * as bcrypt from "@node-rs/bcrypt";
import { HashGate } from "../../src/hashing/passwords.js";
import { postLogin as login, PASSWORD } from "../helpers/login.js";
import { startWarden, type Warden } from "../helpers/warden.js";

const CURRENT = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;

test("over HTTP with the real parameters: hashes are argon2id m=19456,t=2,p=1 and log in", async () => {
  const w = await startWarden({ argon2: "real" });
  try {
    const user = await w.createUser("real@example.com", PASSWORD);
    assert.match(user.passwordHash, CURRENT);
    assert.match(w.deps.hasher.dummyHash, CURRENT, "unknown emails cost a real verification");
    assert.equal((await login(w, "real@example.com", PASSWORD)).status, 200);
    assert.equal((await login(w, "real@example.com", PASSWORD.toUpperCase())).status, 401);
    assert.equal(
      (await w.deps.users.findById(user.id))!.passwordHash,
      user.passwordHash,
      "a current hash is not rehashed",
    );
  } finally {
    await w.close();
  }
});

/** Symfony's NativePasswordHasher: bcrypt input over 72 bytes is base64(sha512(password)). */
const symfonyBcrypt = (password: string, cost = 4) =>
  bcrypt.hash(
    Buffer.byteLength(password) > 72 ? crypto.createHash("sha512").update(password).digest("base64") : password,
    cost,
  );

describe("legacy hashes log in and are rehashed to the current argon2id", () => {
  let w: Warden;
  before(async () => {
    w = await startWarden({ argon2: "real" });
  });
  after(async () => w?.close());

  const legacy: Array<[string, (password: string) => Promise<string>]> = [
    ["bcrypt $2y$ (PHP)", async (p) => (await bcrypt.hash(p, 4)).replace(/^\$2b\$/, "$2y$")],
    ["bcrypt $2b$", (p) => bcrypt.hash(p, 5)],
    [
      "argon2i",
      (p) => argon2.hash(p, { algorithm: argon2.Algorithm.Argon2i, memoryCost: 4096, timeCost: 3, parallelism: 1 }),
    ],
    [
      "argon2id with lower memory",
      (p) => argon2.hash(p, { algorithm: argon2.Algorithm.Argon2id, memoryCost: 8192, timeCost: 2, parallelism: 1 }),
    ],
  ];
  for (const [name, make] of legacy) {
    test(name, async () => {
      const email = `${name.replace(/\W+/g, "-")}@example.com`.toLowerCase();
      const password = "legacy pass 123";
      const hash = await make(password);
      const user = (await w.deps.users.create(
        { email, passwordHash: hash, roles: ["ROLE_USER"], emailConfirmedAt: new Date(), deactivatedAt: null },
        new Date(),
      ))!;
      assert.equal((await login(w, email, "wrong")).status, 401);
      assert.equal((await w.deps.users.findById(user.id))!.passwordHash, hash, "a failed login changes nothing");
      assert.equal((await login(w, email, password)).status, 200);
      const upgraded = (await w.deps.users.findById(user.id))!.passwordHash;
      assert.match(upgraded, CURRENT);
      assert.equal((await login(w, email, password)).status, 200, "and logs in with the new hash");
      assert.equal((await w.deps.users.findById(user.id))!.passwordHash, upgraded, "rehashed once");
    });
  }

  test("a password over 72 bytes against a Symfony bcrypt hash (pre-hashed with SHA-512)", async () => {
    const password = "ä".repeat(30) + "-long-passphrase-" + "x".repeat(20); // 97 bytes
    assert.ok(Buffer.byteLength(password) > 72);
    const hash = await symfonyBcrypt(password);
    await w.deps.users.create(
      {
        email: "long@example.com",
        passwordHash: hash,
        roles: ["ROLE_USER"],
        emailConfirmedAt: new Date(),
        deactivatedAt: null,
      },
      new Date(),
    );
    // Same first 72 bytes, different tail: bcrypt alone would accept it.
    assert.equal((await login(w, "long@example.com", password.slice(0, -1) + "y")).status, 401);
    assert.equal((await login(w, "long@example.com", password)).status, 200);
    assert.match((await w.deps.users.findByEmail("long@example.com"))!.passwordHash, CURRENT);
  });

  test("an unknown hash format verifies nothing", async () => {
    await w.deps.users.create(
      {
        email: "md5@example.com",
        passwordHash: "5f4dcc3b5aa765d61d8327deb882cf99",
        roles: ["ROLE_USER"],
        emailConfirmedAt: new Date(),
        deactivatedAt: null,
      },
      new Date(),
    );
    assert.equal((await login(w, "md5@example.com", "password")).status, 401);
  });
});

describe("HashGate", () => {
  test("runs at most `concurrency` jobs, queues what can start within maxWaitMs, refuses the rest with OVERLOADED", async () => {
    // Long waits allowed, so a slow, loaded machine never makes a queued job stale here.
    const gate = new HashGate(2, 10_000, 5_000); // 2 at a time, 5 s a job: 4 may wait
    assert.equal(gate.maxQueue, 4);
    const releases: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    const job = () =>
      gate.run(async () => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
      });
    const accepted = Array.from({ length: 6 }, job);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.queued, 4);
    await assert.rejects(
      job(),
      (error: { code?: string; details?: { retryAfterSeconds?: number } }) =>
        error.code === "OVERLOADED" && error.details?.retryAfterSeconds === 1,
    );
    while (releases.length) {
      releases.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(accepted);
    assert.equal(peak, 2);
    assert.equal(gate.queued, 0);
  });

  test("isFull says in advance that the next job would be refused", async () => {
    const gate = new HashGate(1, 10_000, 10_000); // 1 at a time, 10 s a job: 1 may wait
    const releases: Array<() => void> = [];
    const job = () => gate.run(() => new Promise<void>((resolve) => releases.push(resolve)));
    const first = job();
    assert.equal(gate.isFull, false);
    const second = job();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.isFull, true);
    await assert.rejects(job(), { code: "OVERLOADED" });
    releases.shift()!();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.isFull, false);
    releases.shift()!();
    await second;
  });

  test("an admission holds a place until its job is queued or it is released; an admitted job is never refused for the queue's length", async () => {
    const gate = new HashGate(1, 10_000, 10_000); // 1 at a time, 10 s a job: 1 may wait, so 2 places in all
    const first = gate.admit();
    const second = gate.admit();
    assert.equal(gate.isFull, true, "two logins doing their reads hold both places");
    assert.throws(() => gate.admit(), { code: "OVERLOADED" });
    await assert.rejects(
      gate.run(async () => "not admitted"),
      { code: "OVERLOADED" },
      "a job without an admission finds no place",
    );
    second.release();
    second.release(); // idempotent: gives back one place, not two
    assert.equal(gate.isFull, false);
    const third = gate.admit();
    assert.equal(gate.isFull, true);

    const releases: Array<() => void> = [];
    const job = () => new Promise<string>((resolve) => releases.push(() => resolve("ran")));
    const running = gate.run(job, "login", first);
    // The slot is taken and `third` holds the one place in the queue; an admitted job still queues.
    const queued = gate.run(job, "login", third);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.queued, 1);
    assert.throws(() => gate.admit(), { code: "OVERLOADED" });
    releases.shift()!();
    assert.equal(await running, "ran");
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()!();
    assert.equal(await queued, "ran");
    assert.equal(gate.isFull, false);
    first.release(); // after run: nothing more to give back
    assert.doesNotThrow(() => gate.admit().release());
    assert.equal(gate.queued, 0);
  });

  test("a job that waited longer than maxWaitMs is refused when its turn comes; a fresh one still runs", async () => {
    const gate = new HashGate(1, 30, 1); // the estimate (1 ms a job) is wrong: the running job takes far longer
    let releaseFirst!: () => void;
    const first = gate.run(() => new Promise<void>((resolve) => (releaseFirst = resolve)));
    const stale = gate.run(async () => "ran");
    await new Promise((resolve) => setTimeout(resolve, 60)); // longer than maxWaitMs
    const fresh = gate.run(async () => "ran");
    releaseFirst();
    await first;
    await assert.rejects(
      stale,
      (error: { code?: string; details?: { retryAfterSeconds?: number } }) =>
        error.code === "OVERLOADED" && error.details?.retryAfterSeconds === 1,
    );
    assert.equal(await fresh, "ran");
    assert.equal(gate.queued, 0);
  });

  test("re-authentications hold at most half the slots and a freed slot goes to a waiting login first", async () => {
    const gate = new HashGate(4, 60_000, 100); // 4 at a time; re-authentications may hold 2
    assert.equal(gate.reauthShare, 2);
    const releases = new Map<string, () => void>();
    const order: string[] = [];
    const job = (name: string, priority: "login" | "reauth") =>
      gate.run(
        () =>
          new Promise<string>((resolve) => {
            order.push(name);
            releases.set(name, () => resolve(name));
          }),
        priority,
      );
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const jobs = [job("r1", "reauth"), job("r2", "reauth"), job("r3", "reauth")];
    await tick();
    assert.deepEqual(order, ["r1", "r2"], "the third re-check waits although two slots are free");
    jobs.push(job("l1", "login"), job("l2", "login"));
    await tick();
    assert.deepEqual(order, ["r1", "r2", "l1", "l2"], "logins take the free slots at once");
    jobs.push(job("l3", "login"));
    await tick();
    assert.equal(gate.queued, 2);
    releases.get("r1")!();
    await tick();
    await tick();
    assert.deepEqual(order.slice(4), ["l3"], "the freed slot went to the waiting login, not the older re-check");
    for (const name of ["r2", "l1", "l2", "l3"]) releases.get(name)!();
    await tick();
    await tick();
    assert.deepEqual(order.slice(5), ["r3"]);
    releases.get("r3")!();
    assert.deepEqual(await Promise.all(jobs), ["r1", "r2", "r3", "l1", "l2", "l3"]);
  });

  test("a full re-authentication queue refuses re-checks while logins are still admitted", async () => {
    const gate = new HashGate(2, 10_000, 10_000); // 2 slots, 1 for re-checks, which may queue 1
    const releases: Array<() => void> = [];
    const job = (priority: "login" | "reauth") =>
      gate.run(() => new Promise<void>((resolve) => releases.push(resolve)), priority);
    const accepted = [job("reauth"), job("reauth")];
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gate.isFullFor("reauth"), true);
    assert.equal(gate.isFull, false);
    await assert.rejects(job("reauth"), { code: "OVERLOADED" });
    accepted.push(job("login"));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(releases.length, 2, "the login runs beside the re-check");
    while (releases.length) {
      releases.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(accepted);
  });
});
