/**
 * `warden secret rotate`, spawned as an operator runs it after a host that held WARDEN_SECRET
 * was compromised: every instance stopped, the secret changed, the instances started again.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { run, scratchEnv, startServerProcess } from "../helpers/process.js";
import { rotateMasterSecret } from "../../src/domain/security/secret-rotation.js";
import { createSealedStore } from "../../src/storage/secret-rotation.js";
import { FixedClock, postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { authenticatorCode, challenge, enrolledUser, verify } from "../mfa/mfa-helpers.js";

/** Ana's password, then her authenticator app's code of the next 30-second step. */
async function nextTotpStep(w: Warden, clock: FixedClock, secret: string) {
  clock.advance(30);
  const mfaToken = await challenge(w, "ana@example.com");
  return verify(w, { mfaToken, code: authenticatorCode(secret, clock), type: "totp" });
}

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
          const signedIn = await nextTotpStep(after, clock, secret);
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

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: two rotations at once: one reseals, the other opens nothing and changes nothing; an instance on the old secret answers 503`,
    { skip },
    async () => {
      const created = await engine.create();
      const clock = new FixedClock();
      const other = "other-secret-0123456789-0123456789-abcdef";
      try {
        const old = await startWarden({ databaseUrl: created.url, clock, env: { WARDEN_SECRET: OLD } });
        let winner: string;
        try {
          // Only the signing key is sealed so far: unserialised, each rotation would succeed in
          // turn, the second over the first, and both operators would believe their secret.
          const { db } = old.deps.database;
          const sealed = createSealedStore(db, old.deps.database.engine);
          // Two connections open beforehand, as two operators' commands would each hold one.
          await Promise.all([1, 2].map(() => sql`select 1`.execute(db)));
          const [first, second] = await Promise.allSettled([
            rotateMasterSecret({ box: old.deps.box, sealed }, OLD, NEW),
            rotateMasterSecret({ box: old.deps.box, sealed }, OLD, other),
          ]);
          const outcomes = [first.status, second.status].sort();
          assert.deepEqual(outcomes, ["fulfilled", "rejected"], "exactly one rotation took effect");
          const loser = (first.status === "rejected" ? first : second) as PromiseRejectedResult;
          assert.match(String(loser.reason), /does not open with the current secret.*nothing was changed/);
          winner = first.status === "fulfilled" ? NEW : other;

          // An instance on the new secret enrols Ana's authenticator app...
          const current = await startWarden({ databaseUrl: created.url, clock, env: { WARDEN_SECRET: winner } });
          let token: string;
          let secret: string;
          try {
            ({ token, secret } = await enrolledUser(current, clock, "ana@example.com"));
          } finally {
            await current.close();
          }
          // ...and the old one, before its next reload, checks her code against that TOTP secret:
          // a 503 (retry elsewhere), not a 500 and not a 401.
          const code = await nextTotpStep(old, clock, secret);
          assert.equal(code.status, 503, code.raw);
          assert.equal(code.headers["retry-after"], "5");
          // Its next reload finds the signing key sealed under another secret: every request is
          // refused from then on, so it seals and hashes nothing under the old secret.
          await assert.rejects(old.deps.keys.reload(), /WARDEN_SECRET was changed while this instance ran/);
          const me = await withBearer(old, token, { method: "GET", url: "/api/v1/me" });
          assert.equal(me.status, 503);
          assert.deepEqual(Object.keys(me.body).sort(), ["code", "message", "requestId"]);
          const ready = await old.app.inject({ method: "GET", url: "/readyz" });
          assert.equal(ready.statusCode, 503);
          assert.match(ready.json().message, /WARDEN_SECRET was rotated: restart this instance/);
          assert.equal((await old.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
          const page = await old.app.inject({ method: "GET", url: "/login", headers: { accept: "text/html" } });
          assert.equal(page.statusCode, 503);
          assert.match(page.body, /Not available right now/);
        } finally {
          await old.close();
        }
        await assert.rejects(
          startWarden({ databaseUrl: created.url, env: { WARDEN_SECRET: winner === NEW ? other : NEW } }),
          /cannot decrypt the signing key/,
        );
      } finally {
        await created.drop();
      }
    },
  );
}

test("a server process left running on the old secret refuses requests within a second of the rotation, and /readyz says why", async () => {
  const scratch = scratchEnv();
  const env = { ...scratch.env, WARDEN_SECRET: OLD };
  try {
    const server = await startServerProcess(process.execPath, ["dist/main.js"], env, "/readyz");
    const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
    try {
      assert.equal((await fetch(url("/.well-known/jwks.json"))).status, 200);
      const rotated = await run(process.execPath, ["bin/warden.mjs", "secret", "rotate"], { env, input: `${NEW}\n` });
      assert.equal(rotated.code, 0, rotated.stderr);
      let ready = await fetch(url("/readyz"));
      for (let i = 0; i < 40 && ready.status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ready = await fetch(url("/readyz"));
      }
      assert.equal(ready.status, 503, "not ready within 4 s of the rotation");
      assert.match(((await ready.json()) as { message: string }).message, /WARDEN_SECRET was rotated/);
      const jwks = await fetch(url("/.well-known/jwks.json"));
      assert.equal(jwks.status, 503);
      assert.equal(jwks.headers.get("retry-after"), "5");
      const login = await fetch(url("/api/auth"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "ana@example.com", password: PASSWORD }),
      });
      assert.equal(login.status, 503);
      assert.equal((await fetch(url("/healthz"))).status, 200);
      assert.match(server.output.text, /WARDEN_SECRET was changed while this instance ran/);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  } finally {
    scratch.cleanup();
  }
});

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
