/**
 * Migrations 0500-0520 on a database that main's last release (0300) left with TOTP on `users`:
 * the secrets move to `factors` and keep working; existing sessions get an auth_time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SecretBox } from "../../src/domain/lib/secret-box.js";
import { totpStepAt } from "../../src/domain/factors/totp/totp.js";
import { openDatabase } from "../../src/storage/database.js";
import { migrateTo } from "../../src/storage/migrations.js";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden } from "../helpers/warden.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { authenticatorCode } from "./mfa-helpers.js";
import { createPasswordHasher } from "../../src/hashing/passwords.js";
import { FAST_ARGON2 } from "../helpers/warden.js";

/** startWarden's WARDEN_SECRET: the secrets below must be sealed under it. */
const WARDEN_SECRET = "test-secret-0123456789-0123456789-abcdef";
const ENROLLED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const PENDING = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

for (const { engine, skip } of engines) {
  test(`${engine.name}: users with TOTP from before 0510 still log in with their authenticator`, { skip }, async () => {
    const created = await engine.create();
    try {
      const clock = new FixedClock();
      const box = new SecretBox(WARDEN_SECRET);
      const hasher = await createPasswordHasher({ params: FAST_ARGON2, concurrency: 1, maxWaitMs: 10_000 });
      const passwordHash = await hasher.hash(PASSWORD);
      hasher.close();
      const old = openDatabase(created.url);
      await migrateTo(old.db, "0300_federation_and_email_codes");
      const t = clock.now().getTime();
      const row = (id: string, email: string) => ({
        id,
        email,
        password_hash: passwordHash,
        roles: '["ROLE_USER"]',
        preferences: "{}",
        email_confirmed_at: t,
        created_at: t,
        updated_at: t,
      });
      // The current step was already used at the last login: the same code must stay refused.
      await (old.db as any)
        .insertInto("users")
        .values([
          {
            ...row("u-enrolled", "enrolled@example.com"),
            totp_secret_enc: box.encrypt("totp-secret", ENROLLED),
            totp_enabled_at: t - 86_400_000,
            totp_last_step: totpStepAt(t),
          },
          {
            ...row("u-pending", "pending@example.com"),
            totp_pending_secret_enc: box.encrypt("totp-secret", PENDING),
          },
        ])
        .execute();
      // A session opened before 0520: it was authenticated when it was created.
      await (old.db as any)
        .insertInto("sessions")
        .values({
          id: "s-old",
          user_id: "u-pending",
          created_at: t - 60_000,
          last_used_at: t,
          expires_at: t + 86_400_000,
        })
        .execute();
      await old.close();

      const w = await startWarden({ databaseUrl: created.url, clock });
      try {
        const first = await postLogin(w, "enrolled@example.com");
        assert.equal(first.body.mfa_required, true, first.raw);
        assert.equal(first.body.mfa_methods[0], "totp");
        const replay = await postJson(w.app, "/api/auth/mfa/verify", {
          mfaToken: first.body.mfa_token,
          code: authenticatorCode(ENROLLED, clock),
        });
        assert.equal(replay.status, 401, "the last accepted step came along");
        clock.advance(30);
        const verified = await postJson(w.app, "/api/auth/mfa/verify", {
          mfaToken: first.body.mfa_token,
          code: authenticatorCode(ENROLLED, clock),
        });
        assert.equal(verified.status, 200, verified.raw);
        assert.ok(verified.body.token && verified.body.refresh_token);

        // A setup that was waiting for its first code is still waiting, with the same secret.
        const { token } = await login(w, "pending@example.com");
        const enable = await w.app.inject({
          method: "POST",
          url: "/api/v1/me/mfa/totp/enable",
          headers: { authorization: `Bearer ${token}` },
          payload: { code: authenticatorCode(PENDING, clock) },
        });
        assert.equal(enable.statusCode, 200, enable.body);

        const columns = (await w.deps.database.db.selectFrom("users").selectAll().executeTakeFirstOrThrow()) as object;
        assert.ok(!Object.keys(columns).some((c) => c.startsWith("totp_")), "the columns are gone from users");
        const earlier = await w.deps.sessions.findSession("s-old");
        assert.deepEqual(
          [earlier?.authTime.getTime(), earlier?.amr],
          [t - 60_000, []],
          "how it was authenticated: not recorded",
        );
      } finally {
        await w.close();
      }
    } finally {
      await created.drop();
    }
  });
}
