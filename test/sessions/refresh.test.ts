import assert from "node:assert/strict";
import { test } from "node:test";
import { startSession } from "../../src/domain/sessions/sessions.js";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { engines } from "../helpers/engines.js";
import { postJson } from "../helpers/warden.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { eventTypes, getMe, logout, refresh, sharedWarden, withWarden } from "./fixtures.js";
import { turnOnTotp } from "../mfa/mfa-helpers.js";

const CTX = { ip: "192.0.2.7", userAgent: "race-test" };
async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    results.push(
      ...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => run(start + k)))),
    );
  }
  return results;
}
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

for (const { engine, skip } of engines) {
  const onShared = sharedWarden(engine);
  const name = (s: string) => `${engine.name}: ${s}`;

  test(
    name("refresh returns a new pair at both paths; the old token is spent; bad input is 400/401"),
    { skip },
    async () => {
      await onShared(async (w) => {
        await w.createUser("ana@example.com", PASSWORD);
        const first = await login(w, "ana@example.com");
        const second = await refresh(w, first.refresh_token);
        assert.equal(second.status, 200, second.raw);
        assert.deepEqual(Object.keys(second.body), ["token", "refresh_token"]);
        assert.notEqual(second.body.refresh_token, first.refresh_token);
        assert.notEqual(second.body.token, first.token);
        assert.equal((await getMe(w, second.body.token)).status, 200);

        const third = await refresh(w, second.body.refresh_token, "/api/auth/refresh");
        assert.equal(third.status, 200, third.raw);

        assert.deepEqual((await postJson(w.app, "/api/auth/token/refresh", {})).body, {
          code: 400,
          message: "Missing refresh_token.",
        });
        assert.deepEqual((await refresh(w, "")).body, { code: 400, message: "Missing refresh_token." });
        assert.equal((await refresh(w, 12345)).status, 400);
        assert.equal((await refresh(w, "x".repeat(5000))).status, 400);
        assert.equal((await refresh(w, "not-a-token")).raw, '{"code":401,"message":"Invalid refresh token."}');
        assert.equal(
          (await refresh(w, third.body.token)).raw,
          '{"code":401,"message":"Invalid refresh token."}',
          "an access token is not a refresh token",
        );
      });
    },
  );

  test(
    name("50 concurrent refreshes of one token mint exactly one successor, and every caller gets it"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("race@example.com", PASSWORD);
        const { refresh_token } = await login(w, "race@example.com");
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(w, refresh_token)));
        assert.deepEqual(
          responses.map((r) => r.status),
          Array(50).fill(200),
          "inside the grace window every racer converges",
        );
        const successors = new Set(responses.map((r) => r.body.refresh_token));
        assert.equal(successors.size, 1, "one successor, handed to all 50");
        assert.equal(
          new Set(responses.map((r) => r.body.token)).size,
          50,
          "each caller gets its own fresh access token",
        );
        const rows = await w.deps.database.db
          .selectFrom("refresh_tokens")
          .selectAll()
          .where("user_id", "=", user.id)
          .execute();
        assert.equal(rows.length, 2, "the spent token and one successor in the database");
        assert.ok(
          rows.every((r) => r.successor_enc === null || !r.successor_enc.includes([...successors][0]!)),
          "the successor is stored sealed, never in clear",
        );

        // The successor works, once.
        const [successor] = [...successors];
        assert.equal((await refresh(w, successor)).status, 200);
      });
    },
  );

  test(
    name("with REFRESH_REUSE_GRACE=0, of 50 concurrent refreshes one wins and the rest revoke the session"),
    { skip },
    async () => {
      await withWarden(engine, { REFRESH_REUSE_GRACE: "0" }, async (w) => {
        await w.createUser("strict@example.com", PASSWORD);
        const { refresh_token } = await login(w, "strict@example.com");
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(w, refresh_token)));
        const winners = responses.filter((r) => r.status === 200);
        assert.equal(winners.length, 1);
        assert.ok(
          responses
            .filter((r) => r.status !== 200)
            .every((r) => r.raw === '{"code":401,"message":"Invalid refresh token."}'),
        );
        assert.equal(
          (await refresh(w, winners[0]!.body.refresh_token)).status,
          401,
          "the reuse killed the winner's successor too",
        );
        assert.equal((await getMe(w, winners[0]!.body.token)).status, 401);
      });
    },
  );

  test(
    name("a replay after the grace window revokes the family (successor included), is recorded, and stays 401"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("thief@example.com", PASSWORD);
        const first = await login(w, "thief@example.com");
        const second = await refresh(w, first.refresh_token);
        w.clock.advance(5);
        const repeat = await refresh(w, first.refresh_token);
        assert.equal(repeat.status, 200, "within 10 s: the same successor again");
        assert.equal(repeat.body.refresh_token, second.body.refresh_token);

        w.clock.advance(6); // 11 s after the spend
        const replay = await refresh(w, first.refresh_token);
        assert.equal(replay.raw, '{"code":401,"message":"Invalid refresh token."}');
        assert.equal((await refresh(w, second.body.refresh_token)).status, 401, "the successor died with its family");
        assert.equal((await getMe(w, second.body.token)).status, 401, "and so did the access tokens of the session");
        assert.equal((await refresh(w, first.refresh_token)).status, 401);
        assert.ok((await eventTypes(w, user.id)).includes("refresh_token_reuse_detected"));
        const session = await w.deps.sessions.findSession(
          (await w.deps.sessions.findRefreshToken(sha256Hex(first.refresh_token)))!.sessionId,
        );
        assert.equal(session?.revokedReason, "refresh_token_reuse");

        // Other sessions of the user are untouched.
        const other = await login(w, "thief@example.com");
        assert.equal((await refresh(w, other.refresh_token)).status, 200);
      });
    },
  );

  test(
    name("expiry: REFRESH_TOKEN_TTL after the last rotation, sliding, but never past SESSION_MAX_LIFETIME"),
    { skip },
    async () => {
      await withWarden(engine, { REFRESH_TOKEN_TTL: "1000", SESSION_MAX_LIFETIME: "2500" }, async (w) => {
        await w.createUser("slide@example.com", PASSWORD);
        const expired = await login(w, "slide@example.com");
        w.clock.advance(1000);
        assert.equal(
          (await refresh(w, expired.refresh_token)).raw,
          '{"code":401,"message":"Refresh token has expired. Please login again."}',
        );

        let { refresh_token } = await login(w, "slide@example.com"); // session ends at +2500 s
        for (let i = 0; i < 2; i++) {
          w.clock.advance(900); // each rotation grants another 1000 s
          const next = await refresh(w, refresh_token);
          assert.equal(next.status, 200, `rotation ${i}: ${next.raw}`);
          refresh_token = next.body.refresh_token;
        }
        w.clock.advance(700); // 2500 s after login: the token's own TTL has 300 s left, the session none
        assert.equal((await refresh(w, refresh_token)).body.message, "Refresh token has expired. Please login again.");
      });
    },
  );

  test(name("an MFA challenge token is never a refresh token"), { skip }, async () => {
    await onShared(async (w) => {
      const user = await w.createUser("mfa@example.com", PASSWORD);
      const secretEnc = w.deps.box.encrypt("totp", "JBSWY3DPEHPK3PXP");
      assert.equal(await turnOnTotp(w, user.id, secretEnc), true);
      const challenge = await postLogin(w, "mfa@example.com", PASSWORD);
      assert.equal(challenge.body.mfa_required, true);
      assert.equal((await refresh(w, challenge.body.mfa_token)).raw, '{"code":401,"message":"Invalid refresh token."}');
      assert.equal((await logout(w, challenge.body.mfa_token)).status, 401);
    });
  });

  test(name("logout revokes the whole family; 400 without a token, 401 for an unknown one"), { skip }, async () => {
    await onShared(async (w) => {
      const user = await w.createUser("bye@example.com", PASSWORD);
      const first = await login(w, "bye@example.com");
      const second = await refresh(w, first.refresh_token);
      const other = await login(w, "bye@example.com");
      const out = await logout(w, second.body.refresh_token);
      assert.equal(out.status, 200, out.raw);
      assert.equal(typeof out.body.message, "string");
      assert.equal((await refresh(w, second.body.refresh_token)).status, 401);
      assert.equal((await getMe(w, second.body.token)).status, 401);
      assert.equal((await refresh(w, other.refresh_token)).status, 200, "the user's other session lives on");
      assert.equal((await postJson(w.app, "/api/auth/logout", {})).status, 400);
      assert.equal((await logout(w, "unknown")).raw, '{"code":401,"message":"Invalid refresh token."}');
      assert.equal((await eventTypes(w, user.id)).filter((t) => t === "logout").length, 1);
    });
  });

  test(name("a refresh racing a logout never leaves a live token (40 rounds)"), { skip }, async () => {
    await onShared(async (w) => {
      const user = await w.createUser("racer@example.com", PASSWORD);
      // Four rounds at a time: enough overlap to contend, few enough that the pool does not serialise them.
      const rounds = await inBatches(40, 4, async (i) => {
        const pair = await startSession(w.deps, user, CTX, { amr: ["pwd"] });
        // Delay one side or the other by 0..9 turns of the event loop, so both orders (and the overlap) occur.
        const [refreshDelay, logoutDelay] = i % 2 === 0 ? [(i / 2) % 10, 0] : [0, ((i - 1) / 2) % 10];
        const [r, l] = await Promise.all([
          ticks(refreshDelay).then(() => refresh(w, pair.refreshToken)),
          ticks(logoutDelay).then(() => logout(w, pair.refreshToken)),
        ]);
        return { pair, r, l };
      });
      let refreshWon = 0;
      for (const { pair, r, l } of rounds) {
        assert.equal(l.status, 200, l.raw);
        assert.ok(r.status === 200 || r.status === 401, r.raw);
        const tokens = [pair.refreshToken, ...(r.status === 200 ? [r.body.refresh_token] : [])];
        for (const t of tokens)
          assert.equal((await refresh(w, t)).status, 401, "no refresh token of a logged-out session works");
        for (const a of [pair.accessToken, ...(r.status === 200 ? [r.body.token] : [])])
          assert.equal((await getMe(w, a)).status, 401);
        if (r.status === 200) refreshWon++;
      }
      assert.ok(
        refreshWon > 0 && refreshWon < 40,
        `both orders must occur for the race to mean anything (refresh first in ${refreshWon}/40)`,
      );
    });
  });

  test(name("refresh is rate limited per IP"), { skip }, async () => {
    await withWarden(engine, { REFRESH_RATE_LIMIT: "2/60" }, async (w) => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await refresh(w, "whatever")).status);
      assert.deepEqual(statuses, [401, 401, 429]);
    });
  });
}
