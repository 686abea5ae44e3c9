/**
 * Issue 10, findings 3 and 4: imported hashes cannot make one login cost a gigabyte or seconds
 * (refused at import, never verified if stored anyway), legacy bcrypt is stored wrapped in
 * argon2id and rehashed at the first login, and a wrong password on an imported account, on a
 * native one, and an unknown email take the same time (real parameters).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as argon2 from "@node-rs/argon2";
import * as bcrypt from "@node-rs/bcrypt";
import { importUsers, type ImportRow } from "../../src/domain/accounts/lifecycle.js";
import { engines } from "../helpers/engines.js";
import { postJson, startWarden, type Warden } from "../helpers/warden.js";

const PASSWORD = "imported pass 42";
const NATIVE = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;
/** Well-formed PHC strings whose parameters are over the budget (never computed: that is the point). */
const SALT = "c29tZXNhbHRzb21lc2FsdA";
const DIGEST = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY";
const ONE_GIB = `$argon2id$v=19$m=1048576,t=1,p=1$${SALT}$${DIGEST}`;
const T1500 = `$argon2id$v=19$m=8,t=1500,p=1$${SALT}$${DIGEST}`;
const BCRYPT_15 = "$2y$15$" + "a".repeat(53);

let ip = 0;
const login = (w: Warden, email: string, password: string) =>
  postJson(w.app, "/api/auth", { email, password }, {}, { remoteAddress: `192.0.2.${++ip % 250}` });

const row = (label: string, email: string, passwordHash: string): ImportRow => ({
  label,
  email,
  passwordHash,
  confirmed: true,
  active: true,
});

for (const { engine, skip } of engines) {
  describe(`imported hashes (${engine.name})`, { skip }, () => {
    test("rows over the verify budget or malformed are refused by name; the good rows are imported", async () => {
      const w = await startWarden({ engine, env: { LOGIN_RATE_LIMIT: "1000/60" } });
      try {
        const bcrypt2y = (await bcrypt.hash(PASSWORD, 4)).replace(/^\$2b\$/, "$2y$");
        const report = await importUsers(w.deps, [
          row("line 2", "gib@example.com", ONE_GIB),
          row("line 3", "slow@example.com", T1500),
          row("line 4", "costly@example.com", BCRYPT_15),
          row("line 5", "broken@example.com", "$argon2id$v=19$m=19456,t=2,p=1$not base64!$xx"),
          row("line 6", "cut@example.com", bcrypt2y.slice(0, 40)),
          row("line 7", "good@example.com", bcrypt2y),
        ]);
        assert.equal(report.imported, 1);
        assert.deepEqual(report.skipped, [
          { row: "line 2", email: "gib@example.com", reason: "argon2 memory m=1048576 KiB is over the limit of 65536" },
          { row: "line 3", email: "slow@example.com", reason: "argon2 passes t=1500 is over the limit of 10" },
          { row: "line 4", email: "costly@example.com", reason: "bcrypt cost 15 is over the limit of 14" },
          { row: "line 5", email: "broken@example.com", reason: "malformed argon2 hash" },
          { row: "line 6", email: "cut@example.com", reason: "malformed bcrypt hash" },
        ]);
        // The bcrypt row is stored wrapped in argon2id: no bare bcrypt in the database.
        const good = (await w.deps.users.findByEmail("good@example.com"))!;
        assert.match(good.passwordHash, /^\$warden-wrap\$bcrypt\$04\$[./A-Za-z0-9]{22}\$argon2id\$v=19\$/);
        assert.ok(!good.passwordHash.includes(bcrypt2y.slice(29)), "the bcrypt digest itself is not stored");
        assert.equal((await login(w, "good@example.com", "wrong")).status, 401);
        assert.equal((await w.deps.users.findById(good.id))!.passwordHash, good.passwordHash);
        assert.equal((await login(w, "good@example.com", PASSWORD)).status, 200);
        // Rehashed at the first login, to native argon2id at the parameters in use (the tests' cheap ones here).
        assert.match((await w.deps.users.findById(good.id))!.passwordHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
        assert.equal((await login(w, "good@example.com", PASSWORD)).status, 200);
      } finally {
        await w.close();
      }
    });

    test("a stored hash over the budget (an older import) is never verified: 401, a warning without the hash", async () => {
      const w = await startWarden({ engine, env: { LOGIN_RATE_LIMIT: "1000/60" } });
      try {
        for (const [email, hash] of [
          ["gib@example.com", ONE_GIB],
          ["slow@example.com", T1500],
          ["costly@example.com", BCRYPT_15],
        ] as const) {
          await w.deps.users.create(
            { email, passwordHash: hash, roles: ["ROLE_USER"], emailConfirmedAt: new Date(), deactivatedAt: null },
            new Date(),
          );
        }
        const rssBefore = process.memoryUsage().rss;
        for (const email of ["gib@example.com", "slow@example.com", "costly@example.com"]) {
          const r = await login(w, email, PASSWORD);
          assert.equal(r.status, 401, r.raw);
          assert.deepEqual(r.body, { code: 401, message: "Invalid credentials." });
        }
        const grewMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
        assert.ok(grewMiB < 256, `a 1 GiB argon2 row was not computed (RSS grew ${grewMiB.toFixed(0)} MiB)`);
        const warnings = w.logLines.filter((l) => l.includes("over the verify budget"));
        assert.equal(warnings.length, 3, w.logLines.join(""));
        assert.match(warnings[0]!, /argon2 memory m=1048576 KiB is over the limit of 65536/);
        for (const line of w.logLines) {
          assert.ok(!line.includes(SALT) && !line.includes(DIGEST) && !line.includes("a".repeat(53)), line);
        }
      } finally {
        await w.close();
      }
    });
  });
}

/**
 * The timing check of finding 4 with the real parameters: unknown email, native argon2id,
 * bcrypt-10 imported (wrapped), argon2i m=65536,t=4 imported. Interleaved, so load drifts hit all.
 */
test("wrong passwords on native, imported bcrypt and imported argon2 accounts, and unknown emails: medians within 25%", async (t) => {
  const w = await startWarden({
    argon2: "real",
    env: { ACCOUNT_FAILURE_LIMIT: "100000/3600", LOGIN_RATE_LIMIT: "100000/60" },
  });
  try {
    await w.createUser("native@example.com", PASSWORD);
    const legacyBcrypt = await bcrypt.hash(PASSWORD, 10);
    const legacyArgon = await argon2.hash(PASSWORD, {
      algorithm: argon2.Algorithm.Argon2i,
      memoryCost: 65536,
      timeCost: 4,
      parallelism: 1,
    });
    const report = await importUsers(w.deps, [
      row("entry 1", "bcrypt@example.com", legacyBcrypt),
      row("entry 2", "argon@example.com", legacyArgon),
    ]);
    assert.equal(report.imported, 2, JSON.stringify(report.skipped));

    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
    };
    const attempt = async (email: string) => {
      const started = performance.now();
      const r = await login(w, email, "not the password");
      assert.equal(r.status, 401, r.raw);
      return { raw: r.raw, ms: performance.now() - started };
    };
    const kinds = {
      unknown: (i: number) => `nobody${i}@example.com`,
      native: () => "native@example.com",
      bcrypt: () => "bcrypt@example.com",
      argon2i: () => "argon@example.com",
    };
    for (const make of Object.values(kinds)) await attempt(make(-1)); // warm-up
    const times: Record<string, number[]> = { unknown: [], native: [], bcrypt: [], argon2i: [] };
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) {
      for (const [kind, make] of Object.entries(kinds)) {
        const { raw, ms } = await attempt(make(i));
        times[kind]!.push(ms);
        bodies.add(raw);
      }
    }
    assert.equal(bodies.size, 1, "one body for every kind");
    const medians = Object.fromEntries(Object.entries(times).map(([kind, list]) => [kind, median(list)]));
    t.diagnostic(
      `medians (ms): ${Object.entries(medians)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ")}; failure floor ${w.deps.hasher.failureFloorMs().toFixed(1)} ms`,
    );
    const values = Object.values(medians);
    const [low, high] = [Math.min(...values), Math.max(...values)];
    assert.ok((high - low) / high < 0.25, `medians ${JSON.stringify(medians)} differ by more than 25%`);
    // Still the right passwords log in, and are upgraded to native argon2id at once.
    assert.equal((await login(w, "bcrypt@example.com", PASSWORD)).status, 200);
    assert.match((await w.deps.users.findByEmail("bcrypt@example.com"))!.passwordHash, NATIVE);
  } finally {
    await w.close();
  }
});
