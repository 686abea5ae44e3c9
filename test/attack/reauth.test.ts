/**
 * Issue 10, findings 1 and 2: password re-checks by a logged-in user (PATCH /me, DELETE /me,
 * TOTP disable, backup-code regenerate) are limited per IP and per account, cannot starve
 * logins of hash slots, and their guess budget is reserved before the hash (never 51 guesses
 * against a budget of 5).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines } from "../helpers/engines.js";
import { postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";

const PASSWORD = "correct horse battery staple";

/** Counts password verifications (what an attacker's guesses cost and what they test). */
function countVerifications(w: Warden): { count: number } {
  const counter = { count: 0 };
  const verify = w.deps.hasher.verify.bind(w.deps.hasher);
  w.deps.hasher.verify = (hash, password, priority) => {
    counter.count++;
    return verify(hash, password, priority);
  };
  return counter;
}

async function loginToken(w: Warden, email: string, ip: string): Promise<string> {
  const r = await postJson(w.app, "/api/auth", { email, password: PASSWORD }, {}, { remoteAddress: ip });
  assert.equal(r.status, 200, r.raw);
  return r.body.token;
}

const patchMe = (w: Warden, token: string, body: object, ip: string) =>
  withBearer(w, token, { method: "PATCH", url: "/api/v1/me", payload: body, remoteAddress: ip });

for (const { engine, skip } of engines) {
  describe(`re-authentication under attack (${engine.name})`, { skip }, () => {
    test("60 concurrent wrong currentPassword: exactly the budget's 5 are checked, the rest 429", async () => {
      // The per-IP and per-account attempt limit is lifted so that only the guess budget decides.
      const w = await startWarden({ engine, env: { REAUTH_RATE_LIMIT: "1000/60", HASH_QUEUE_MAX_WAIT_MS: "60000" } });
      try {
        await w.createUser("victim@example.com", PASSWORD);
        const token = await loginToken(w, "victim@example.com", "198.51.100.1");
        const hashes = countVerifications(w);
        const answers = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            patchMe(
              w,
              token,
              { currentPassword: `guess number ${i}`, password: "a new long passphrase" },
              "198.51.100.2",
            ),
          ),
        );
        const statuses = answers.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 422).length, 5, statuses.join(","));
        assert.equal(statuses.filter((s) => s === 429).length, 55, statuses.join(","));
        assert.equal(hashes.count, 5, "exactly the budget's number of guesses reached the hash");
        // The budget holds the five failures: even the right password waits now.
        const right = await patchMe(
          w,
          token,
          { currentPassword: PASSWORD, password: "a new long passphrase" },
          "198.51.100.2",
        );
        assert.equal(right.status, 429);
        assert.ok(Number(right.headers["retry-after"]) >= 1);
      } finally {
        await w.close();
      }
    });

    test("a right password is refunded: five correct re-checks leave the guess budget whole", async () => {
      const w = await startWarden({ engine, env: { REAUTH_RATE_LIMIT: "1000/60", HASH_QUEUE_MAX_WAIT_MS: "60000" } });
      try {
        await w.createUser("owner@example.com", PASSWORD);
        const token = await loginToken(w, "owner@example.com", "198.51.100.3");
        for (let i = 0; i < 6; i++) {
          const r = await patchMe(w, token, { currentPassword: PASSWORD, password: PASSWORD }, "198.51.100.4");
          assert.equal(r.status, 200, `re-check ${i + 1}: ${r.raw}`);
        }
        const hashes = countVerifications(w);
        const wrong = await Promise.all(
          Array.from({ length: 8 }, () =>
            patchMe(w, token, { currentPassword: "not it at all", password: PASSWORD }, "198.51.100.4"),
          ),
        );
        assert.equal(wrong.filter((r) => r.status === 422).length, 5);
        assert.equal(hashes.count, 5);
      } finally {
        await w.close();
      }
    });

    test("every password re-check counts per IP and per account, right or wrong: DELETE /me, TOTP disable, regenerate, PATCH", async () => {
      const w = await startWarden({ engine, env: { REAUTH_RATE_LIMIT: "3/60" } });
      try {
        await w.createUser("a@example.com", PASSWORD);
        await w.createUser("b@example.com", PASSWORD);
        const a = await loginToken(w, "a@example.com", "198.51.100.5");
        const b = await loginToken(w, "b@example.com", "198.51.100.6");
        // Per IP: one address, two accounts; the 4th password-hashing request from it is refused before any hash.
        const hashes = countVerifications(w);
        const fromOneIp = "203.0.113.7";
        const first = await patchMe(w, a, { currentPassword: PASSWORD, password: PASSWORD }, fromOneIp);
        assert.equal(first.status, 200, first.raw);
        assert.equal(first.headers["ratelimit-policy"], "3;w=60");
        const disable = await withBearer(w, b, {
          method: "POST",
          url: "/api/v1/me/mfa/totp/disable",
          payload: { password: PASSWORD },
          remoteAddress: fromOneIp,
        });
        assert.equal(disable.status, 400, "TOTP is off: counted all the same");
        const regenerate = await withBearer(w, b, {
          method: "POST",
          url: "/api/v1/me/mfa/backup-codes/regenerate",
          payload: { password: PASSWORD },
          remoteAddress: fromOneIp,
        });
        assert.equal(regenerate.status, 400);
        const fourth = await withBearer(w, b, {
          method: "DELETE",
          url: "/api/v1/me",
          payload: { password: PASSWORD },
          remoteAddress: fromOneIp,
        });
        assert.equal(fourth.status, 429, fourth.raw);
        assert.equal(
          hashes.count,
          1,
          "only the PATCH reached the hash (TOTP is off for the others; the 4th was refused first)",
        );
        // A profile edit without a password is not a re-check and is not counted.
        const rename = await patchMe(w, b, { firstName: "Bea" }, fromOneIp);
        assert.equal(rename.status, 200, rename.raw);

        // Per account: the same account from fresh addresses, right password every time.
        const statuses = [];
        for (let i = 0; i < 4; i++) {
          statuses.push(
            (await patchMe(w, b, { currentPassword: PASSWORD, password: PASSWORD }, `192.0.2.${10 + i}`)).status,
          );
        }
        assert.deepEqual(statuses, [200, 200, 200, 429]);
      } finally {
        await w.close();
      }
    });
  });
}

test("150 concurrent right-password re-checks from one user do not make another user's login 503 (real argon2)", async () => {
  // Limits lifted, so the re-checks all reach the hash queue: the queue's own share must protect logins.
  const w = await startWarden({
    argon2: "real",
    env: { REAUTH_RATE_LIMIT: "100000/60", LOGIN_RATE_LIMIT: "100000/60" },
  });
  try {
    await w.createUser("attacker@example.com", PASSWORD);
    await w.createUser("victim@example.com", PASSWORD);
    const token = await loginToken(w, "attacker@example.com", "198.51.100.9");
    const flood = Promise.all(
      Array.from({ length: 150 }, () =>
        patchMe(w, token, { currentPassword: PASSWORD, password: PASSWORD }, "203.0.113.66"),
      ),
    );
    // Wait until the flood fills the queue, then log the victim in, twice, while it lasts.
    for (let waited = 0; w.deps.hasher.gate.queued === 0 && waited < 10_000; waited += 2) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.ok(w.deps.hasher.gate.queued > 0, "the flood filled the hash slots it may use and waits in the queue");
    const victims = await Promise.all(
      ["192.0.2.77", "192.0.2.78"].map((ip) =>
        postJson(w.app, "/api/auth", { email: "victim@example.com", password: PASSWORD }, {}, { remoteAddress: ip }),
      ),
    );
    const floodAnswers = await flood;
    for (const v of victims) assert.equal(v.status, 200, v.raw);
    const shed = floodAnswers.filter((r) => r.status === 503);
    assert.ok(shed.length > 0, "the flood was shed, not the logins");
    for (const r of shed) assert.equal(r.raw, '{"code":503,"message":"The server is busy. Please try again shortly."}');
  } finally {
    await w.close();
  }
});
