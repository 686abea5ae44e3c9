import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { engines, type EngineUnderTest } from "../helpers/engines.js";
import { startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { post } from "./helpers.js";

const EMAIL = "racer@example.com";
const OLD = "old lantern by the sea";
const NEW = "new lantern on the hill";
const LOGINS = 30;
/** Thirty logins at once on a busy test machine must queue for the hasher, not be shed with 503s. */
const PATIENT = { env: { HASH_QUEUE_MAX_WAIT_MS: "60000" } };

/** A reset link for the user, as the forgot-password mail would carry it. */
async function resetTokenFor(w: Warden, userId: string): Promise<string> {
  const token = crypto.randomBytes(32).toString("base64url");
  const now = w.deps.clock.now();
  await w.deps.emailTokens.create({
    tokenHash: sha256Hex(token),
    userId,
    purpose: "reset",
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
  });
  return token;
}

/** Every login answer that handed out tokens must hold dead ones: no API access, no refresh. */
async function assertNothingLive(w: Warden, userId: string, answers: Array<{ status: number; body: any }>) {
  for (const answer of answers.filter((a) => a.status === 200)) {
    const me = await withBearer(w, answer.body.token, { method: "GET", url: "/api/v1/me" });
    assert.equal(me.status, 401, "an access token of an old-password login still works");
    const refresh = await post(w.app, "/api/auth/token/refresh", { refresh_token: answer.body.refresh_token });
    assert.equal(refresh.status, 401, "a refresh token of an old-password login still works");
  }
  const now = w.deps.clock.now();
  assert.deepEqual(await w.deps.sessions.listLiveSessions(userId, now, new Date(0)), []);
}

/** A Warden with the racing user and a reset link for them; closed after `run`. */
async function withRacer(
  engine: EngineUnderTest,
  run: (w: Warden, userId: string, resetToken: string) => Promise<void>,
): Promise<void> {
  const w = await startWarden({ engine, ...PATIENT });
  try {
    const user = await w.createUser(EMAIL, OLD);
    await run(w, user.id, await resetTokenFor(w, user.id));
  } finally {
    await w.close();
  }
}

/** LOGINS logins with the old password, all under way at once. */
const oldPasswordLogins = (w: Warden) =>
  Array.from({ length: LOGINS }, () => post(w.app, "/api/auth", { email: EMAIL, password: OLD }));

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: logins that checked the old password before a reset committed open no session after it`,
    { skip },
    () =>
      withRacer(engine, async (w, userId, token) => {
        // Each login checks the (old, right) password with the real hasher, then waits until the
        // reset has committed: exactly the interleaving of the reproduction.
        const { hasher } = w.deps;
        const realVerify = hasher.verify.bind(hasher);
        let checked = 0;
        let allChecked!: () => void;
        const everyLoginChecked = new Promise<void>((resolve) => (allChecked = resolve));
        let release!: () => void;
        const resetDone = new Promise<void>((resolve) => (release = resolve));
        hasher.verify = async (hash, password, priority) => {
          const valid = await realVerify(hash, password, priority);
          if (++checked === LOGINS) allChecked();
          await resetDone;
          return valid;
        };

        const logins = oldPasswordLogins(w);
        await everyLoginChecked;
        hasher.verify = realVerify;
        const reset = await post(w.app, "/api/auth/reset-password", { token, password: NEW });
        assert.equal(reset.status, 200, reset.raw);
        release();

        const answers = await Promise.all(logins);
        for (const answer of answers) assert.deepEqual(answer.body, { code: 401, message: "Invalid credentials." });
        await assertNothingLive(w, userId, answers);
        assert.equal((await post(w.app, "/api/auth", { email: EMAIL, password: NEW })).status, 200);
      }),
  );

  test(
    `${engine.name}: ${LOGINS} old-password logins racing a reset leave no live session or refresh token`,
    { skip },
    () =>
      withRacer(engine, async (w, userId, token) => {
        const logins = oldPasswordLogins(w);
        const reset = post(w.app, "/api/auth/reset-password", { token, password: NEW });
        const [answers, resetAnswer] = await Promise.all([Promise.all(logins), reset]);
        assert.equal(resetAnswer.status, 200, resetAnswer.raw);
        for (const answer of answers) assert.ok([200, 401].includes(answer.status), JSON.stringify(answer.body));
        await assertNothingLive(w, userId, answers);
      }),
  );
}
