/** Finding 10: names in mails, private SQLite files, retention, and a request timeout. */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { linkToken } from "../accounts/smtp.js";
import { greetingName } from "../../src/domain/accounts/notices.js";
import { purgeExpired } from "../../src/domain/security/retention.js";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { engines } from "../helpers/engines.js";
import { run, scratchEnv } from "../helpers/process.js";
import { FixedClock, postJson, startWarden } from "../helpers/warden.js";

const PASSWORD = "correct horse battery";

test("greetingName: only a confirmed address, only a name-shaped name", () => {
  const confirmed = new Date();
  assert.equal(greetingName({ firstName: "Ana-Maria O'Neil", emailConfirmedAt: confirmed }), "Ana-Maria O'Neil");
  assert.equal(greetingName({ firstName: "Ștefan", emailConfirmedAt: confirmed }), "Ștefan");
  assert.equal(greetingName({ firstName: "Ana", emailConfirmedAt: null }), null);
  for (const name of ["Visit http://evil.example now", "a".repeat(41), "Call +40 700 000 000", "x.com", " Ana"])
    assert.equal(greetingName({ firstName: name, emailConfirmedAt: confirmed }), null, name);
});

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a name typed at registration never reaches the unconfirmed address it was typed with`,
    { skip },
    async () => {
      const { w, smtp, close } = await startWardenWithSmtp({ engine });
      try {
        const bait = "Your account is locked, restore it at http://evil.example/restore";
        await postJson(w.app, "/api/auth/register", {
          email: "victim@example.com",
          password: PASSWORD,
          firstName: bait,
        });
        const mail = await smtp.nextMail("victim@example.com");
        assert.doesNotMatch(mail.decoded, /evil\.example|locked/);
        assert.match(mail.decoded, /Hello,/);

        await postJson(w.app, "/api/auth/register", { email: "ana@example.com", password: PASSWORD, firstName: "Ana" });
        const confirmation = await smtp.nextMail("ana@example.com");
        assert.doesNotMatch(confirmation.decoded, /Hello Ana/, "not even a plain name before the address is confirmed");
        await postJson(w.app, "/api/auth/confirm-email", { token: linkToken(confirmation, "/confirm-email") });
        await postJson(w.app, "/api/auth/forgot-password", { email: "ana@example.com" });
        assert.match(
          (await smtp.nextMail("ana@example.com")).decoded,
          /Hello Ana,/,
          "the confirmed owner is greeted by name",
        );
      } finally {
        await close();
      }
    },
  );

  test(
    `${engine.name}: retention purges expired tokens, ended sessions and old events, and keeps what is live`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: { LOGIN_RATE_LIMIT: "1000/60" } });
      const db = w.deps.database.db;
      const rows = async () =>
        Object.fromEntries(
          await Promise.all(
            (["refresh_tokens", "sessions", "mfa_challenges", "email_tokens", "security_events"] as const).map(
              async (table) => [
                table,
                (await db.selectFrom(table).select(db.fn.countAll().as("n")).executeTakeFirstOrThrow()).n,
              ],
            ),
          ),
        ) as Record<string, number | string | bigint>;
      try {
        const user = await w.createUser("old@example.com", PASSWORD);
        const login = () => postJson(w.app, "/api/auth", { email: "old@example.com", password: PASSWORD });
        const kept = (await login()).body;
        const loggedOut = (await login()).body;
        await postJson(w.app, "/api/auth/logout", { refresh_token: loggedOut.refresh_token });
        await postJson(w.app, "/api/auth/register", { email: "waiting@example.com", password: PASSWORD });
        await w.deps.mailer.idle();
        await w.deps.mfaChallenges.create({
          tokenHash: sha256Hex("c".repeat(64)),
          userId: user.id,
          createdAt: clock.now(),
          expiresAt: new Date(clock.now().getTime() + 300_000),
          ip: null,
          userAgent: null,
          amr: ["pwd"],
        });

        // 31 days on: the logged-out session is past RETENTION_DAYS_SESSIONS (30); the live one is
        // refreshed and stays. The mail token (24 h) and challenge (5 min) expired > 7 days ago.
        clock.advance(20 * 86_400);
        const refreshed = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: kept.refresh_token });
        assert.equal(refreshed.status, 200, refreshed.raw);
        clock.advance(11 * 86_400);
        const counts = await purgeExpired(w.deps);
        assert.equal(counts.sessions, 1, "the logged-out session");
        assert.equal(counts.mfaChallenges, 1);
        assert.equal(counts.emailTokens, 1);
        assert.ok(counts.refreshTokens >= 1);
        assert.equal(counts.securityEvents, 0, "events are kept a year");
        const left = await rows();
        assert.equal(Number(left.sessions), 1);
        assert.equal(Number(left.mfa_challenges), 0);
        assert.equal(Number(left.email_tokens), 0);
        const again = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: refreshed.body.refresh_token });
        assert.equal(again.status, 200, "the live session works after the purge");
        assert.deepEqual(
          Object.values(await purgeExpired(w.deps)).slice(0, 8),
          [0, 0, 0, 0, 0, 0, 0, 0],
          "a second purge finds nothing",
        );

        clock.advance(366 * 86_400);
        const late = await purgeExpired(w.deps);
        assert.ok(late.securityEvents >= 3, "a year on, the events go");
        assert.ok(late.sessions >= 1, "and the session that ended meanwhile");
      } finally {
        await w.close();
      }
    },
  );
}

test("sqlite: a new database file is 0600 (its -wal and -shm too) in a new 0700 folder", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "warden-perm-"));
  const file = path.join(root, "new", "data", "warden.db");
  const w = await startWarden({ databaseUrl: `sqlite:${file}` });
  try {
    await w.createUser("perm@example.com", PASSWORD);
    const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(path.dirname(file)), "700");
    assert.equal(mode(file), "600");
    for (const suffix of ["-wal", "-shm"])
      if (fs.existsSync(file + suffix)) assert.equal(mode(file + suffix), "600", suffix);
  } finally {
    await w.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a request whose body never finishes is cut with 408 after REQUEST_TIMEOUT", async () => {
  const w = await startWarden({ env: { REQUEST_TIMEOUT: "1" } });
  try {
    await w.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = w.app.server.address() as net.AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    socket.write(
      'POST /api/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
    );
    const answer = await new Promise<string>((resolve) => {
      let data = "";
      const timer = setTimeout(() => resolve(data || "(nothing after 8 s)"), 8_000);
      socket.on("data", (chunk) => (data += chunk));
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(data);
      });
    });
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 408/);
  } finally {
    await w.close();
  }
});

test("warden purge runs the retention purge and says what it deleted", async () => {
  const scratch = scratchEnv();
  try {
    assert.equal((await run(process.execPath, ["bin/warden.mjs", "migrate"], { env: scratch.env })).code, 0);
    const purge = await run(process.execPath, ["bin/warden.mjs", "purge"], { env: scratch.env });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(
      purge.stdout,
      /^purged 0 refreshTokens, 0 mfaChallenges, 0 emailTokens, 0 webauthnChallenges, 0 stepUpChallenges, 0 verificationTokens, 0 sessions, 0 apiKeys, 0 securityEvents, 0 counters\n$/,
    );
  } finally {
    scratch.cleanup();
  }
});
