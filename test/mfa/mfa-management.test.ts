import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "../../src/cli/index.js";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, type Warden } from "../helpers/warden.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { authenticatorCode, bearer, challenge, enrolledUser, verify } from "./mfa-helpers.js";

const eventsOf = async (w: Warden, userId: string) =>
  (
    await w.deps.database.db
      .selectFrom("security_events")
      .select("type")
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .execute()
  ).map((e) => e.type);

for (const { engine, skip } of engines) {
  test(`MFA management over HTTP on ${engine.name}`, { skip }, async (t) => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock, env: { LOGIN_RATE_LIMIT: "1000/60", MFA_RATE_LIMIT: "1000/60" } });
    try {
      await t.test("enabling with revokeOtherSessions ends the other sessions, not the current one", async () => {
        const user = await w.createUser("alice@example.com", PASSWORD);
        const other = await login(w, "alice@example.com");
        const current = await login(w, "alice@example.com");
        const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", current.token);
        const missing = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", current.token, {});
        assert.equal(missing.status, 400);
        const enable = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", current.token, {
          code: authenticatorCode(setup.body.secret, clock),
          revokeOtherSessions: true,
        });
        assert.equal(enable.status, 200, enable.raw);
        assert.equal((await bearer(w, "GET", "/api/v1/me/mfa/status", other.token)).status, 401);
        assert.equal((await bearer(w, "GET", "/api/v1/me/mfa/status", current.token)).status, 200);
        assert.ok((await eventsOf(w, user.id)).includes("mfa_enabled"));
      });

      await t.test("regenerating needs the password and kills the old codes at once", async () => {
        const { token, backupCodes } = await enrolledUser(w, clock, "bob@example.com");
        const wrong = await bearer(w, "POST", "/api/v1/me/mfa/backup-codes/regenerate", token, { password: "not it" });
        assert.equal(wrong.status, 422);
        const fresh = await bearer(w, "POST", "/api/v1/me/mfa/backup-codes/regenerate", token, { password: PASSWORD });
        assert.equal(fresh.status, 200, fresh.raw);
        assert.equal(fresh.body.backupCodes.length, 10);
        assert.ok(!fresh.body.backupCodes.some((c: string) => backupCodes.includes(c)));
        const old = await verify(w, {
          mfaToken: await challenge(w, "bob@example.com"),
          code: backupCodes[0],
          type: "backup",
        });
        assert.equal(old.status, 401);
        const now = await verify(w, {
          mfaToken: await challenge(w, "bob@example.com"),
          code: fresh.body.backupCodes[0],
          type: "backup",
        });
        assert.equal(now.status, 200, now.raw);
      });

      await t.test(
        "disabling needs the password, deletes secret and codes, and logins go back to one step",
        async () => {
          const { user, token, backupCodes } = await enrolledUser(w, clock, "carol@example.com");
          const other = await verify(w, {
            mfaToken: await challenge(w, "carol@example.com"),
            code: backupCodes[0],
            type: "backup",
          });
          const wrong = await bearer(w, "POST", "/api/v1/me/mfa/totp/disable", token, { password: "not it" });
          assert.equal(wrong.status, 422);
          const off = await bearer(w, "POST", "/api/v1/me/mfa/totp/disable", token, {
            password: PASSWORD,
            revokeOtherSessions: true,
          });
          assert.deepEqual(off.body, { disabled: true });
          assert.deepEqual((await bearer(w, "GET", "/api/v1/me/mfa/status", token)).body, {
            totpEnabled: false,
            backupCodesRemaining: 0,
            passkeysCount: 0,
          });
          assert.equal((await bearer(w, "GET", "/api/v1/me/mfa/status", other.body.token)).status, 401);
          const regenerate = await bearer(w, "POST", "/api/v1/me/mfa/backup-codes/regenerate", token, {
            password: PASSWORD,
          });
          assert.equal(regenerate.status, 400);
          assert.equal(
            (await bearer(w, "POST", "/api/v1/me/mfa/totp/disable", token, { password: PASSWORD })).status,
            400,
          );
          const rows = await w.deps.database.db
            .selectFrom("factors")
            .selectAll()
            .where("user_id", "=", user.id)
            .execute();
          assert.deepEqual(rows, [], "the authenticator's secret is deleted");
          assert.ok((await login(w, "carol@example.com")).refresh_token);
          const events = await eventsOf(w, user.id);
          assert.ok(events.includes("mfa_enabled") && events.includes("mfa_disabled"));
        },
      );
    } finally {
      await w.close();
    }
  });
}

test("`warden user mfa-reset --email E` turns two-factor off, kills open challenges and records the event", async () => {
  const clock = new FixedClock();
  const w = await startWarden({ clock });
  const saved = { ...process.env };
  try {
    const { user, secret } = await enrolledUser(w, clock, "dave@example.com");
    const open = await challenge(w, "dave@example.com");
    Object.assign(process.env, {
      DATABASE_URL: w.deps.config.DATABASE_URL,
      DATA_DIR: w.deps.config.DATA_DIR,
      WARDEN_SECRET: w.deps.config.WARDEN_SECRET,
      REDIS_URL: "",
    });
    assert.equal(await main(["user", "mfa-reset", "--email", "Dave@Example.com"]), 0);
    const refused = await verify(w, { mfaToken: open, code: authenticatorCode(secret, clock) });
    assert.equal(refused.body.message, "Invalid or expired MFA challenge.");
    const login = await postLogin(w, "dave@example.com", PASSWORD);
    assert.deepEqual(Object.keys(login.body), ["token", "refresh_token"]);
    assert.ok((await eventsOf(w, user.id)).includes("mfa_reset"));
    assert.equal(await main(["user", "mfa-reset", "--email", "nobody@example.com"]), 1);
  } finally {
    process.env = saved;
    await w.close();
  }
});
