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
    const gate = new HashGate(2, 100, 50); // 2 at a time, 50 ms a job: 4 may wait
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
    const gate = new HashGate(1, 100, 100); // 1 at a time, 100 ms a job: 1 may wait
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
});
