/**
 * `warden secret rotate`, spawned as an operator runs it after a host that held WARDEN_SECRET
 * was compromised: every instance stopped, the secret changed, the instances started again.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { run, scratchEnv } from "../helpers/process.js";
import { FixedClock, postJson, startWarden, withBearer } from "../helpers/warden.js";
import { authenticatorCode, challenge, enrolledUser, verify } from "../mfa/mfa-helpers.js";

const OLD = "old-secret-0123456789-0123456789-abcdef";
const NEW = "new-secret-9876543210-9876543210-fedcba";

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: secret rotate reseals the signing keys and TOTP secrets under the new secret, drops backup codes, and the old secret opens nothing`,
    { skip },
    async () => {
      const created = await engine.create();
      const scratch = scratchEnv();
      const rotate = (current: string, input: string) =>
        run(process.execPath, ["bin/warden.mjs", "secret", "rotate"], {
          env: { ...scratch.env, DATABASE_URL: created.url, WARDEN_SECRET: current },
          input,
        });
      const clock = new FixedClock();
      const start = (secret: string) =>
        startWarden({ databaseUrl: created.url, clock, env: { WARDEN_SECRET: secret } });
      try {
        const before = await start(OLD);
        let token: string;
        let secret: string;
        let backupCodes: string[];
        try {
          ({ token, secret, backupCodes } = await enrolledUser(before, clock, "ana@example.com"));
          await before.deps.keys.rotate(); // a retired key, still published, and a new signer
        } finally {
          await before.close();
        }

        // Refused, nothing changed: a short secret, the current one again, the wrong current one.
        const short = await rotate(OLD, "too short\n");
        assert.equal(short.code, 1);
        assert.equal(short.stderr, "warden: the new secret must be at least 32 characters\n");
        assert.equal((await rotate(OLD, `${OLD}\n`)).stderr, "warden: the new secret is the current one\n");
        const wrong = await rotate("not-the-secret-0123456789-0123456789", `${NEW}\n`);
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /WARDEN_SECRET/);

        const rotated = await rotate(OLD, `${NEW}\n`);
        assert.equal(rotated.code, 0, rotated.stderr);
        assert.equal(
          rotated.stdout,
          [
            "resealed 2 signing keys and 1 TOTP secrets under the new secret",
            "deleted 10 backup codes (their users make new ones) and 0 pending email codes",
            "start every instance with the new WARDEN_SECRET now: the old one opens nothing any more",
            "",
          ].join("\n"),
        );

        await assert.rejects(start(OLD), /cannot decrypt the signing key: WARDEN_SECRET differs/);
        const after = await start(NEW);
        try {
          // Tokens signed before still verify: the keys are the same, only sealed anew.
          assert.equal((await withBearer(after, token, { method: "GET", url: "/api/v1/me" })).status, 200);
          // The authenticator app keeps working: the TOTP secret is the same one.
          clock.advance(30);
          const signedIn = await verify(after, {
            mfaToken: await challenge(after, "ana@example.com"),
            code: authenticatorCode(secret, clock),
            type: "totp",
          });
          assert.equal(signedIn.status, 200, signedIn.raw);
          // A backup code from before does not: the user makes new ones.
          const backup = await verify(after, {
            mfaToken: await challenge(after, "ana@example.com"),
            code: backupCodes[0],
            type: "backup_code",
          });
          assert.equal(backup.status, 401, backup.raw);
          // New logins are signed and verified under the new secret.
          const login = await postJson(after.app, "/api/auth", { email: "ana@example.com", password: PASSWORD });
          assert.equal(login.body.mfa_required, true);
        } finally {
          await after.close();
        }
      } finally {
        scratch.cleanup();
        await created.drop();
      }
    },
  );
}

test("sqlite: without WARDEN_SECRET the generated secret in the data folder is replaced, and the server starts on it", async () => {
  const scratch = scratchEnv();
  const env = { ...scratch.env, WARDEN_SECRET: "" };
  try {
    const migrate = await run(process.execPath, ["bin/warden.mjs", "migrate"], { env });
    assert.equal(migrate.code, 0, migrate.stderr);
    const file = path.join(scratch.env.DATA_DIR!, "secret");
    const generated = fs.readFileSync(file, "utf8").trim();
    const rotated = await run(process.execPath, ["bin/warden.mjs", "secret", "rotate"], { env, input: `${NEW}\n` });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /resealed 1 signing keys and 0 TOTP secrets/);
    assert.match(rotated.stdout, /wrote the new secret to .*secret; start every instance now/);
    assert.equal(fs.readFileSync(file, "utf8"), `${NEW}\n`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.notEqual(generated, NEW);
    const list = await run(process.execPath, ["bin/warden.mjs", "keys", "list"], { env });
    assert.equal(list.code, 0, list.stderr);
  } finally {
    scratch.cleanup();
  }
});
